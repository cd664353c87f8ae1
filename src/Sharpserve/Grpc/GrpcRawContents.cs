using System.Buffers.Binary;
using Google.Protobuf;
using Sharpserve.Abstractions;

namespace Sharpserve.Grpc;

/// <summary>
/// The raw tensor layout of <c>raw_input_contents</c> and <c>raw_output_contents</c>, as Triton writes it: the
/// elements flattened row-major, each numeric element little-endian in its datatype's size (BOOL one byte, 0 or 1;
/// FP16 two), and each BYTES element as a 4-byte little-endian length followed by that many bytes.
/// </summary>
internal static class GrpcRawContents
{
    public static bool TryRead(ByteString raw, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        ReadOnlySpan<byte> bytes = raw.Span;
        if (dataType == TensorDataType.Bytes)
        {
            return TryReadStrings(bytes, name, shape, elements, out tensor, out error);
        }

        long expected = elements * dataType.ElementSize();
        if (bytes.Length != expected)
        {
            error = $"input '{name}': raw_input_contents has {bytes.Length} bytes; shape {TensorText.Shape(shape)} of {dataType.ToProtocolName()} needs {expected}";
            return false;
        }

        if (dataType == TensorDataType.Bool && bytes.IndexOfAnyExcept((byte)0, (byte)1) is int bad and >= 0)
        {
            error = $"input '{name}': BOOL element {bad} of raw_input_contents is {bytes[bad]}; a BOOL is one byte, 0 or 1";
            return false;
        }

        tensor = Tensor.FromRaw(name, dataType, shape, bytes.ToArray());
        error = null;
        return true;
    }

    private static bool TryReadStrings(ReadOnlySpan<byte> bytes, string name, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        // Every element takes at least its 4-byte length, so a count beyond that is refused before allocating.
        if (elements > bytes.Length / 4)
        {
            error = $"input '{name}': raw_input_contents has {bytes.Length} bytes, too few for {elements} BYTES elements (each is a 4-byte length and its bytes)";
            return false;
        }

        var values = new byte[elements][];
        int offset = 0;
        for (long i = 0; i < elements; i++)
        {
            if (bytes.Length - offset < 4)
            {
                error = $"input '{name}': raw_input_contents ends before the length of BYTES element {i} of {elements}";
                return false;
            }

            uint length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[offset..]);
            offset += 4;
            if (length > (uint)(bytes.Length - offset))
            {
                error = $"input '{name}': BYTES element {i} says {length} bytes but raw_input_contents has {bytes.Length - offset} left";
                return false;
            }

            values[i] = bytes.Slice(offset, (int)length).ToArray();
            offset += (int)length;
        }

        if (offset != bytes.Length)
        {
            error = $"input '{name}': raw_input_contents has {bytes.Length - offset} bytes after the {elements} BYTES elements of shape {TensorText.Shape(shape)}";
            return false;
        }

        tensor = Tensor.FromBytes(name, shape, values);
        error = null;
        return true;
    }

    /// <summary>The raw form of an output tensor.</summary>
    public static ByteString Write(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.BytesData is not { } strings)
        {
            return ByteString.CopyFrom(tensor.RawData);
        }

        long total = 0;
        foreach (byte[] element in strings)
        {
            total += 4 + element.Length;
        }

        byte[] raw = new byte[checked((int)total)];
        int offset = 0;
        foreach (byte[] element in strings)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(offset), (uint)element.Length);
            element.CopyTo(raw.AsSpan(offset + 4));
            offset += 4 + element.Length;
        }

        return UnsafeByteOperations.UnsafeWrap(raw); // raw is this response's own array: nothing else writes it
    }
}
