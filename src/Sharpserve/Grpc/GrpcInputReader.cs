using System.Buffers.Binary;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Http;
using InferInputTensor = Inference.ModelInferRequest.Types.InferInputTensor;

namespace Sharpserve.Grpc;

/// <summary>
/// Reads one input of a gRPC <c>ModelInferRequest</c> into a <see cref="Tensor"/>: its name, datatype and shape are
/// checked against the model's metadata by the same <see cref="OipRequestValidator"/> as the JSON path, then its
/// elements come either from the typed <c>contents</c> field of its datatype or from its entry of
/// <c>raw_input_contents</c> (little-endian elements; BYTES as 4-byte little-endian lengths each followed by that
/// many bytes). Every problem is a message naming the input.
/// </summary>
internal static class GrpcInputReader
{
    /// <summary>The most dimensions a shape may have, as on the JSON path.</summary>
    private const int MaxRank = 16;

    private static readonly TensorDataType[] s_dataTypes = Enum.GetValues<TensorDataType>();

    /// <param name="raw">The input's entry of <c>raw_input_contents</c>, or null when the request sends typed contents.</param>
    public static bool TryRead(InferInputTensor input, ByteString? raw, ModelMetadata metadata, out Tensor? tensor, out string? error)
    {
        tensor = null;
        string name = input.Name;
        if (name.Length == 0)
        {
            error = "every input needs a 'name'";
            return false;
        }

        if (!TryParseDataType(input.Datatype, out TensorDataType dataType))
        {
            error = $"input '{name}': 'datatype' must be one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES, got '{input.Datatype}'";
            return false;
        }

        if (!TryReadShape(input.Shape, out long[]? shape))
        {
            error = $"input '{name}': 'shape' must be at most {MaxRank} non-negative integers";
            return false;
        }

        if (!OipRequestValidator.TryCheckInput(metadata, name, dataType, shape!, out long elements, out error))
        {
            return false;
        }

        if (raw is not null)
        {
            if (input.Contents is not null)
            {
                error = $"input '{name}' has 'contents' while the request sends raw_input_contents; send every input one way";
                return false;
            }

            return GrpcRawContents.TryRead(raw, name, dataType, shape!, elements, out tensor, out error);
        }

        return TryReadContents(input.Contents ?? s_noContents, name, dataType, shape!, elements, out tensor, out error);
    }

    private static readonly InferTensorContents s_noContents = new();

    private static bool TryReadContents(InferTensorContents contents, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        (string field, int count) = FieldOf(contents, dataType);
        int all = contents.BoolContents.Count + contents.IntContents.Count + contents.Int64Contents.Count + contents.UintContents.Count +
            contents.Uint64Contents.Count + contents.Fp32Contents.Count + contents.Fp64Contents.Count + contents.BytesContents.Count;
        if (dataType == TensorDataType.Fp16 && elements > 0)
        {
            error = $"input '{name}': FP16 has no typed contents field; send it in raw_input_contents (2-byte little-endian halves)";
            return false;
        }

        if (count != elements || all != count)
        {
            error = all != count
                ? $"input '{name}': datatype {dataType.ToProtocolName()} takes its elements in contents.{field} only"
                : $"input '{name}' has shape {TensorText.Shape(shape)} ({elements} elements) but contents.{field} has {count}";
            return false;
        }

        int n = (int)elements;
        switch (dataType)
        {
            case TensorDataType.Bytes:
                var strings = new byte[n][];
                for (int i = 0; i < n; i++)
                {
                    strings[i] = contents.BytesContents[i].ToByteArray();
                }

                tensor = Tensor.FromBytes(name, shape, strings);
                break;
            case TensorDataType.Fp32:
                float[] floats = new float[n];
                contents.Fp32Contents.CopyTo(floats, 0);
                tensor = Tensor.FromFp32(name, shape, floats);
                break;
            default:
                byte[] data = new byte[n * dataType.ElementSize()];
                if (!TryWriteNumbers(contents, dataType, data, n, out int bad))
                {
                    error = $"input '{name}': element {bad} of contents.{field} is out of range for {dataType.ToProtocolName()}";
                    return false;
                }

                tensor = Tensor.FromRaw(name, dataType, shape, data);
                break;
        }

        error = null;
        return true;
    }

    /// <summary>The typed field a datatype's elements travel in, and how many it holds.</summary>
    private static (string Field, int Count) FieldOf(InferTensorContents contents, TensorDataType dataType) => dataType switch
    {
        TensorDataType.Bool => ("bool_contents", contents.BoolContents.Count),
        TensorDataType.Int8 or TensorDataType.Int16 or TensorDataType.Int32 => ("int_contents", contents.IntContents.Count),
        TensorDataType.Int64 => ("int64_contents", contents.Int64Contents.Count),
        TensorDataType.UInt8 or TensorDataType.UInt16 or TensorDataType.UInt32 => ("uint_contents", contents.UintContents.Count),
        TensorDataType.UInt64 => ("uint64_contents", contents.Uint64Contents.Count),
        TensorDataType.Fp32 => ("fp32_contents", contents.Fp32Contents.Count),
        TensorDataType.Fp64 => ("fp64_contents", contents.Fp64Contents.Count),
        TensorDataType.Bytes => ("bytes_contents", contents.BytesContents.Count),
        _ => ("(none: FP16 travels raw)", 0),
    };

    /// <summary>Writes typed values as little-endian elements, range-checked for the narrow integer types.</summary>
    /// <param name="bad">The index of the first value out of range.</param>
    private static bool TryWriteNumbers(InferTensorContents contents, TensorDataType dataType, Span<byte> data, int n, out int bad)
    {
        RepeatedField<int> ints = contents.IntContents;
        RepeatedField<uint> uints = contents.UintContents;
        for (bad = 0; bad < n; bad++)
        {
            int i = bad;
            bool fits = true;
            switch (dataType)
            {
                case TensorDataType.Bool: data[i] = contents.BoolContents[i] ? (byte)1 : (byte)0; break;
                case TensorDataType.Int8: fits = ints[i] is >= sbyte.MinValue and <= sbyte.MaxValue; data[i] = (byte)(sbyte)ints[i]; break;
                case TensorDataType.Int16: fits = ints[i] is >= short.MinValue and <= short.MaxValue; BinaryPrimitives.WriteInt16LittleEndian(data[(i * 2)..], (short)ints[i]); break;
                case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(data[(i * 4)..], ints[i]); break;
                case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(data[(i * 8)..], contents.Int64Contents[i]); break;
                case TensorDataType.UInt8: fits = uints[i] <= byte.MaxValue; data[i] = (byte)uints[i]; break;
                case TensorDataType.UInt16: fits = uints[i] <= ushort.MaxValue; BinaryPrimitives.WriteUInt16LittleEndian(data[(i * 2)..], (ushort)uints[i]); break;
                case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(data[(i * 4)..], uints[i]); break;
                case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(data[(i * 8)..], contents.Uint64Contents[i]); break;
                case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(data[(i * 8)..], contents.Fp64Contents[i]); break;
                default: throw new InvalidOperationException($"{dataType} has no typed numbers"); // FP32, FP16, BYTES are handled by the caller
            }

            if (!fits)
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryParseDataType(string text, out TensorDataType dataType)
    {
        foreach (TensorDataType candidate in s_dataTypes)
        {
            if (string.Equals(candidate.ToProtocolName(), text, StringComparison.Ordinal))
            {
                dataType = candidate;
                return true;
            }
        }

        dataType = default;
        return false;
    }

    private static bool TryReadShape(RepeatedField<long> dims, out long[]? shape)
    {
        shape = null;
        if (dims.Count > MaxRank)
        {
            return false;
        }

        shape = new long[dims.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            if (dims[i] < 0)
            {
                return false;
            }

            shape[i] = dims[i];
        }

        return true;
    }
}
