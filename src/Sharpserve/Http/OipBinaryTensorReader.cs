using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Reads one input sent as binary tensor data (docs/binary-tensor-extension.md) once its datatype and shape are
/// checked and its blob is cut from the body: numeric types are little-endian elements, exactly shape × element size
/// bytes (BOOL one byte each, 0 or 1); BYTES elements are a 4-byte little-endian length then that many bytes. Sizes and
/// counts are checked against the blob before the tensor's arrays are allocated, and the blob is at most the body.
/// </summary>
internal static class OipBinaryTensorReader
{
    public static bool TryRead(ReadOnlySpan<byte> blob, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        return dataType == TensorDataType.Bytes
            ? TryReadBytes(blob, name, shape, elements, out tensor, out error)
            : TryReadNumbers(blob, name, dataType, shape, elements, out tensor, out error);
    }

    private static bool TryReadNumbers(ReadOnlySpan<byte> blob, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        long expected = elements * dataType.ElementSize();
        if (blob.Length != expected)
        {
            error = $"input '{name}' has shape {TensorText.Shape(shape)} of {dataType.ToProtocolName()}, {expected} bytes, but 'binary_data_size' is {blob.Length}";
            return false;
        }

        if (dataType == TensorDataType.Fp32)
        {
            // Straight into the float array FP32 tensors hold (FromRaw would copy twice).
            tensor = Tensor.FromFp32(name, shape, MemoryMarshal.Cast<byte, float>(blob).ToArray());
        }
        else if (dataType == TensorDataType.Bool && blob.IndexOfAnyExcept((byte)0, (byte)1) is int bad and >= 0)
        {
            // As strict as JSON, which takes only true and false: a byte other than 0 or 1 is a client's mistake.
            error = $"input '{name}': BOOL element {bad} is the byte {blob[bad]}; binary BOOL elements are 0 (false) or 1 (true)";
            return false;
        }
        else
        {
            tensor = Tensor.FromRaw(name, dataType, shape, blob.ToArray());
        }

        error = null;
        return true;
    }

    private static bool TryReadBytes(ReadOnlySpan<byte> blob, string name, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;

        // Walk the length prefixes first: a prefix running past the blob, or a count other than the shape's, is an
        // error before anything is allocated.
        long count = 0;
        int offset = 0;
        while (offset < blob.Length)
        {
            if (blob.Length - offset < sizeof(uint))
            {
                error = $"input '{name}': BYTES element {count} starts at byte {offset} of its {blob.Length}-byte binary data, too close to the end for its 4-byte length";
                return false;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(blob[offset..]);
            offset += sizeof(uint);
            if (length > (uint)(blob.Length - offset))
            {
                error = $"input '{name}': BYTES element {count} says it is {length} bytes, but only {blob.Length - offset} bytes of its binary data remain";
                return false;
            }

            offset += (int)length;
            count++;
        }

        if (count != elements)
        {
            error = $"input '{name}' has shape {TensorText.Shape(shape)} ({elements} elements) but its binary data holds {count} BYTES elements";
            return false;
        }

        var values = new byte[elements][];
        offset = 0;
        for (long i = 0; i < elements; i++)
        {
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(blob[offset..]);
            offset += sizeof(uint);
            values[i] = blob.Slice(offset, length).ToArray();
            offset += length;
        }

        tensor = Tensor.FromBytes(name, shape, values);
        error = null;
        return true;
    }
}
