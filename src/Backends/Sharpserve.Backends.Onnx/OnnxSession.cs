using System.Text;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using Sharpserve.Abstractions;
using Tensor = Sharpserve.Abstractions.Tensor;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// One executor's use of the shared <see cref="OnnxModel"/>: validates a request against the model's metadata
/// (every input present and known, datatype, rank and fixed dimensions, element count and byte size within the
/// limits, data matching the shape exactly) and returns <see cref="InferErrorKind.BadInput"/> naming the tensor,
/// before anything reaches ONNX Runtime; then runs it on the shared session. Batches: OnnxSession.Batch.cs.
/// </summary>
internal sealed partial class OnnxSession(OnnxModel model) : IModelSession
{
    private readonly OnnxModel _model = model;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _inputNames = [.. model.Metadata.Inputs.Select(i => i.Name)];

    public InferResult Infer(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<TensorMetadata> expected = _model.Metadata.Inputs;
        if (Validate(request, expected) is { } error)
        {
            return error;
        }

        var values = new OrtValue[expected.Count];
        try
        {
            for (int i = 0; i < expected.Count; i++)
            {
                values[i] = ToOrtValue(request.FindInput(expected[i].Name)!);
            }

            // ONNX Runtime computes only what the fetched outputs need: a request for some outputs skips the rest.
            IReadOnlyList<string> names = request.Outputs is { Count: > 0 } requested ? requested : _model.OutputNames;
            using IDisposableReadOnlyCollection<OrtValue> outputs = _model.Session.Run(_runOptions, _inputNames, values, names);
            var tensors = new Tensor[names.Count];
            int index = 0;
            foreach (OrtValue output in outputs)
            {
                tensors[index] = FromOrtValue(names[index], output);
                index++;
            }

            return InferResult.Success(new InferenceResponse(tensors));
        }
        catch (OnnxRuntimeException e) when (e.Message.StartsWith("[ErrorCode:InvalidArgument]", StringComparison.Ordinal))
        {
            return InferError.BadInput($"model '{_model.Metadata.Name}' refused the input: {e.Message}");
        }
        catch (OnnxRuntimeException e)
        {
            return InferResult.Failure(InferErrorKind.BackendFailed, $"ONNX Runtime failed: {e.Message}");
        }
        finally
        {
            foreach (OrtValue? value in values)
            {
                value?.Dispose();
            }
        }
    }

    private InferError? Validate(InferenceRequest request, IReadOnlyList<TensorMetadata> expected)
    {
        string model = _model.Metadata.Name;
        foreach (Tensor input in request.Inputs)
        {
            if (_model.Metadata.FindInput(input.Name) is null)
            {
                return InferError.BadInput($"unknown input '{input.Name}'; model '{model}' takes {TensorText.List(expected)}");
            }
        }

        OnnxBackendOptions limits = _model.Options;
        foreach (TensorMetadata meta in expected)
        {
            Tensor? input = request.FindInput(meta.Name);
            if (input is null)
            {
                return InferError.BadInput($"input '{meta.Name}' is missing; model '{model}' needs {TensorText.List(expected)}");
            }

            if (input.DataType != meta.DataType)
            {
                return InferError.BadInput(
                    $"input '{meta.Name}' has datatype {input.DataType.ToProtocolName()}; model '{model}' expects {meta.DataType.ToProtocolName()}");
            }

            if (!ShapeMatches(input.Shape, meta))
            {
                return InferError.BadInput(
                    $"input '{meta.Name}' has shape {TensorText.Shape(input.Shape)}; model '{model}' expects {TensorText.Shape(meta.Shape)} (-1: any size)");
            }

            if (!TensorDataTypes.TryGetElementCount(input.Shape, limits.MaxElementsPerTensor, out long elements))
            {
                return InferError.BadInput($"input '{meta.Name}' declares shape {TensorText.Shape(input.Shape)}, more than {limits.MaxElementsPerTensor} elements");
            }

            if (input.ElementCount != elements)
            {
                return InferError.BadInput($"input '{meta.Name}' has shape {TensorText.Shape(input.Shape)} ({elements} elements) but holds {input.ElementCount} values");
            }

            long bytes = ByteSize(input);
            if (bytes > limits.MaxBytesPerTensor)
            {
                return InferError.BadInput($"input '{meta.Name}' holds {bytes} bytes, more than the limit of {limits.MaxBytesPerTensor}");
            }
        }

        foreach (SharedDimension shared in _model.SharedDimensions)
        {
            long size = request.FindInput(expected[shared.Input].Name)!.Shape[shared.Axis];
            long firstSize = request.FindInput(expected[shared.FirstInput].Name)!.Shape[shared.FirstAxis];
            if (size != firstSize)
            {
                return InferError.BadInput(
                    $"input '{expected[shared.Input].Name}' has size {size} in dimension {shared.Axis} but input '{expected[shared.FirstInput].Name}' has {firstSize} in dimension {shared.FirstAxis}; model '{model}' names both '{shared.Symbol}', so they must be equal");
            }
        }

        if (request.Outputs is { } wanted)
        {
            foreach (string output in wanted)
            {
                if (_model.Metadata.FindOutput(output) is null)
                {
                    return InferError.BadInput($"unknown output '{output}'; model '{model}' gives {TensorText.List(_model.Metadata.Outputs)}");
                }
            }
        }

        // Every input is known and every expected one present: more tensors than inputs means one is repeated.
        return request.Inputs.Count > expected.Count
            ? InferError.BadInput($"an input of model '{model}' is given more than once")
            : null;
    }

    private static long ByteSize(Tensor tensor)
    {
        if (tensor.BytesData is { } strings)
        {
            long total = 0;
            foreach (byte[] s in strings)
            {
                total += s.Length;
            }

            return total;
        }

        return tensor.RawData.Length;
    }

    private static OrtValue ToOrtValue(Tensor tensor)
    {
        if (tensor.BytesData is { } strings)
        {
            OrtValue text = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, tensor.Shape);
            try
            {
                for (int i = 0; i < strings.Length; i++)
                {
                    text.StringTensorSetElementAt(strings[i].AsSpan(), i);
                }
            }
            catch
            {
                text.Dispose();
                throw;
            }

            return text;
        }

        OrtValue value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, OnnxTypes.ToElementType(tensor.DataType), tensor.Shape);
        tensor.RawData.CopyTo(value.GetTensorMutableRawData());
        return value;
    }

    private static Tensor FromOrtValue(string name, OrtValue value)
    {
        OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        long[] shape = info.Shape;
        if (info.ElementDataType == TensorElementType.String)
        {
            int count = checked((int)info.ElementCount);
            var strings = new byte[count][];
            for (int i = 0; i < count; i++)
            {
                strings[i] = Encoding.UTF8.GetBytes(value.GetStringElement(i));
            }

            return Tensor.FromBytes(name, shape, strings);
        }

        if (!OnnxTypes.TryToDataType(info.ElementDataType, out TensorDataType type))
        {
            throw new InvalidOperationException($"output '{name}' has element type {info.ElementDataType}, excluded at load");
        }

        return Tensor.FromRaw(name, type, shape, value.GetTensorDataAsSpan<byte>().ToArray());
    }

    private static bool ShapeMatches(long[] shape, TensorMetadata expected)
    {
        foreach (long dimension in shape)
        {
            if (dimension < 0)
            {
                return false;
            }
        }

        return expected.Accepts(shape);
    }

    public void Dispose() => _runOptions.Dispose();
}
