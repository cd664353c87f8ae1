using System.Text;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Sharpserve.Abstractions;
using Tensor = Sharpserve.Abstractions.Tensor;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Dynamic batching on ONNX Runtime: the requests' inputs are concatenated along dimension 0 into one tensor each,
/// the model runs once (a memory-bound model reads its weights once for the whole batch), and every output is cut
/// back into each request's rows. Each request is validated alone first, so a bad one gets its own error and stays
/// out of the call; if the call fails as a whole, or an output does not have the batch's rows as its first dimension,
/// every request runs alone, so one request's values that ONNX Runtime refuses fail that request only.
/// </summary>
internal sealed partial class OnnxSession
{
    public void InferBatch(ReadOnlySpan<InferenceRequest> requests, Span<InferResult> results)
    {
        if (results.Length != requests.Length)
        {
            throw new ArgumentException($"{requests.Length} requests need as many results, got room for {results.Length}", nameof(results));
        }

        IReadOnlyList<TensorMetadata> expected = _model.Metadata.Inputs;
        bool batchable = IsBatchable(expected);
        int[] members = new int[requests.Length];
        int count = 0;
        for (int i = 0; i < requests.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(requests[i]);
            if (Validate(requests[i], expected) is { } error)
            {
                results[i] = error;
            }
            else if (batchable && (count == 0 || Concatenable(requests[members[0]], requests[i], expected)))
            {
                members[count++] = i;
            }
            else
            {
                results[i] = Infer(requests[i]);
            }
        }

        if (count > 1 && TryRunBatch(requests, members.AsSpan(0, count), results))
        {
            return;
        }

        for (int i = 0; i < count; i++)
        {
            results[members[i]] = Infer(requests[members[i]]);
        }
    }

    /// <summary>Every input has a known rank and a free first dimension to concatenate along.</summary>
    private static bool IsBatchable(IReadOnlyList<TensorMetadata> inputs)
    {
        foreach (TensorMetadata input in inputs)
        {
            if (input.AnyRank || input.Shape.Count == 0 || input.Shape[0] >= 0)
            {
                return false;
            }
        }

        return inputs.Count > 0;
    }

    /// <summary>The same shape for every input but the first dimension (both requests are valid, so names and types agree).</summary>
    private static bool Concatenable(InferenceRequest first, InferenceRequest other, IReadOnlyList<TensorMetadata> expected)
    {
        foreach (TensorMetadata meta in expected)
        {
            long[] a = first.FindInput(meta.Name)!.Shape;
            long[] b = other.FindInput(meta.Name)!.Shape;
            if (a.Length != b.Length || !a.AsSpan(1).SequenceEqual(b.AsSpan(1)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One Run for the <paramref name="members"/>; false when it must be run request by request instead.</summary>
    private bool TryRunBatch(ReadOnlySpan<InferenceRequest> requests, ReadOnlySpan<int> members, Span<InferResult> results)
    {
        IReadOnlyList<TensorMetadata> expected = _model.Metadata.Inputs;
        string firstInput = expected[0].Name;
        long[] rows = new long[members.Length];
        long totalRows = 0;
        for (int i = 0; i < members.Length; i++)
        {
            rows[i] = requests[members[i]].FindInput(firstInput)!.Shape[0];
            totalRows += rows[i];
        }

        if (totalRows == 0)
        {
            return false;
        }

        IReadOnlyList<string> names = OutputsOf(requests, members);
        var values = new OrtValue[expected.Count];
        try
        {
            for (int k = 0; k < expected.Count; k++)
            {
                values[k] = Concatenate(requests, members, expected[k].Name);
            }

            using IDisposableReadOnlyCollection<OrtValue> outputs = _model.Session.Run(_runOptions, _inputNames, values, names);
            var split = new Tensor[names.Count][];
            int index = 0;
            foreach (OrtValue output in outputs)
            {
                if (Split(names[index], output, rows, totalRows) is not { } parts)
                {
                    return false;
                }

                split[index++] = parts;
            }

            for (int i = 0; i < members.Length; i++)
            {
                IReadOnlyList<string> wanted = requests[members[i]].Outputs is { Count: > 0 } requested ? requested : _model.OutputNames;
                var tensors = new Tensor[wanted.Count];
                for (int j = 0; j < wanted.Count; j++)
                {
                    tensors[j] = split[IndexOf(names, wanted[j])][i];
                }

                results[members[i]] = InferResult.Success(new InferenceResponse(tensors));
            }

            return true;
        }
        catch (OnnxRuntimeException)
        {
            return false; // the batch as a whole: each request runs alone, with its own answer or error
        }
        finally
        {
            foreach (OrtValue? value in values)
            {
                value?.Dispose();
            }
        }
    }

    /// <summary>The outputs any member asked for, in the model's order; all of them when one asked for all.</summary>
    private IReadOnlyList<string> OutputsOf(ReadOnlySpan<InferenceRequest> requests, ReadOnlySpan<int> members)
    {
        var wanted = new bool[_model.OutputNames.Length];
        foreach (int member in members)
        {
            if (requests[member].Outputs is not { Count: > 0 } requested)
            {
                return _model.OutputNames;
            }

            foreach (string name in requested)
            {
                wanted[Array.IndexOf(_model.OutputNames, name)] = true;
            }
        }

        var names = new List<string>(wanted.Length);
        for (int i = 0; i < wanted.Length; i++)
        {
            if (wanted[i])
            {
                names.Add(_model.OutputNames[i]);
            }
        }

        return names;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (string.Equals(names[i], name, StringComparison.Ordinal))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"output '{name}' was not fetched");
    }

    /// <summary>The members' tensors of input <paramref name="name"/> one after the other: their rows, in order.</summary>
    private static OrtValue Concatenate(ReadOnlySpan<InferenceRequest> requests, ReadOnlySpan<int> members, string name)
    {
        Tensor first = requests[members[0]].FindInput(name)!;
        long[] shape = (long[])first.Shape.Clone();
        shape[0] = 0;
        foreach (int member in members)
        {
            shape[0] += requests[member].FindInput(name)!.Shape[0];
        }

        if (first.DataType == TensorDataType.Bytes)
        {
            OrtValue text = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            try
            {
                int index = 0;
                foreach (int member in members)
                {
                    foreach (byte[] element in requests[member].FindInput(name)!.BytesData!)
                    {
                        text.StringTensorSetElementAt(element.AsSpan(), index++);
                    }
                }
            }
            catch
            {
                text.Dispose();
                throw;
            }

            return text;
        }

        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, OnnxTypes.ToElementType(first.DataType), shape);
        Span<byte> destination = value.GetTensorMutableRawData();
        int offset = 0;
        foreach (int member in members)
        {
            ReadOnlySpan<byte> data = requests[member].FindInput(name)!.RawData;
            data.CopyTo(destination[offset..]);
            offset += data.Length;
        }

        return value;
    }

    /// <summary>
    /// One tensor per member, cut from <paramref name="value"/> by rows; null when its first dimension is not the
    /// batch's rows (an output that does not follow the batch cannot be split back).
    /// </summary>
    private static Tensor[]? Split(string name, OrtValue value, long[] rows, long totalRows)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        if (shape.Length == 0 || shape[0] != totalRows)
        {
            return null;
        }

        long perRow = info.ElementCount / totalRows;
        var parts = new Tensor[rows.Length];
        long start = 0;
        bool text = info.ElementDataType == TensorElementType.String;
        TensorDataType type = TensorDataType.Bytes;
        if (!text && !OnnxTypes.TryToDataType(info.ElementDataType, out type))
        {
            return null;
        }

        int elementSize = text ? 0 : TensorDataTypes.ElementSize(type);
        ReadOnlySpan<byte> raw = text ? default : value.GetTensorDataAsSpan<byte>();
        for (int i = 0; i < rows.Length; i++)
        {
            long[] partShape = (long[])shape.Clone();
            partShape[0] = rows[i];
            int first = checked((int)(start * perRow));
            int count = checked((int)(rows[i] * perRow));
            if (text)
            {
                var strings = new byte[count][];
                for (int e = 0; e < count; e++)
                {
                    strings[e] = Encoding.UTF8.GetBytes(value.GetStringElement(first + e));
                }

                parts[i] = Tensor.FromBytes(name, partShape, strings);
            }
            else
            {
                parts[i] = Tensor.FromRaw(name, type, partShape, raw.Slice(first * elementSize, count * elementSize).ToArray());
            }

            start += rows[i];
        }

        return parts;
    }
}
