using System.Buffers;
using System.Buffers.Binary;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Writes an output as binary tensor data (docs/binary-tensor-extension.md), the layout <see cref="OipBinaryTensorReader"/>
/// reads: numeric elements little-endian (BOOL one byte, 0 or 1), BYTES elements each a 4-byte little-endian length
/// and the bytes as the model gave them.
/// </summary>
internal static class OipBinaryTensorWriter
{
    /// <summary>The <c>binary_data_size</c> of <paramref name="tensor"/>: the bytes <see cref="Write"/> writes.</summary>
    public static long ByteSize(Tensor tensor)
    {
        if (tensor.BytesData is { } elements)
        {
            long size = 0;
            foreach (byte[] element in elements)
            {
                size += sizeof(uint) + element.Length;
            }

            return size;
        }

        return tensor.RawData.Length;
    }

    public static void Write(IBufferWriter<byte> writer, Tensor tensor)
    {
        if (tensor.BytesData is { } elements)
        {
            foreach (byte[] element in elements)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(writer.GetSpan(sizeof(uint)), (uint)element.Length);
                writer.Advance(sizeof(uint));
                writer.Write(element);
            }
        }
        else if (tensor.DataType == TensorDataType.Bool)
        {
            // A model's BOOL is any non-zero byte for true; the wire says 1, as JSON's true does.
            ReadOnlySpan<byte> values = tensor.RawData;
            Span<byte> target = writer.GetSpan(values.Length);
            for (int i = 0; i < values.Length; i++)
            {
                target[i] = values[i] != 0 ? (byte)1 : (byte)0;
            }

            writer.Advance(values.Length);
        }
        else
        {
            // RawData is little-endian for every numeric type (FP32's floats included), the extension's byte order.
            writer.Write(tensor.RawData);
        }
    }
}
