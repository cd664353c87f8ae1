using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sharpserve.WorkerConformance;

/// <summary>
/// A tensor as it travels in an Infer or Result frame: name, datatype, shape, and its data field exactly as on the
/// wire (numeric: little-endian elements, BOOL one byte 0 or 1; BYTES: each element as u32 length and bytes).
/// </summary>
public sealed class WireTensor
{
    public WireTensor(string name, WireDataType dataType, IReadOnlyList<long> shape, byte[] data)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        Data = data;
    }

    public string Name { get; }

    public WireDataType DataType { get; }

    public IReadOnlyList<long> Shape { get; }

    /// <summary>The tensor's data field as on the wire.</summary>
    public byte[] Data { get; }

    /// <summary>The product of the shape (1 for rank 0).</summary>
    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long dim in Shape)
            {
                count *= dim;
            }

            return count;
        }
    }

    /// <summary>A BYTES tensor of UTF-8 strings.</summary>
    public static WireTensor Strings(string name, IReadOnlyList<long> shape, params string[] elements) =>
        Bytes(name, shape, [.. elements.Select(Encoding.UTF8.GetBytes)]);

    /// <summary>A BYTES tensor: each element as u32 length and its bytes.</summary>
    public static WireTensor Bytes(string name, IReadOnlyList<long> shape, params byte[][] elements)
    {
        var data = new WireWriter();
        foreach (byte[] element in elements)
        {
            data.U32((uint)element.Length).Raw(element);
        }

        return new WireTensor(name, WireDataType.Bytes, shape, data.ToArray());
    }

    public static WireTensor Fp32(string name, IReadOnlyList<long> shape, params float[] values)
    {
        var data = new WireWriter();
        foreach (float value in values)
        {
            data.F32(value);
        }

        return new WireTensor(name, WireDataType.Fp32, shape, data.ToArray());
    }

    public static WireTensor Int32(string name, IReadOnlyList<long> shape, params int[] values)
    {
        var data = new WireWriter();
        foreach (int value in values)
        {
            data.I32(value);
        }

        return new WireTensor(name, WireDataType.Int32, shape, data.ToArray());
    }

    /// <summary>
    /// A tensor from OIP JSON (<c>{"name", "datatype", "shape", "data"}</c>, data flattened in row-major order), as the
    /// committed <c>*.expected.json</c> files hold them; each element is encoded here as the specification says.
    /// </summary>
    public static WireTensor FromJson(JsonElement tensor)
    {
        string name = tensor.GetProperty("name").GetString()!;
        WireDataType type = WireLimits.ParseProtocolName(tensor.GetProperty("datatype").GetString()!);
        long[] shape = [.. tensor.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
        var data = new WireWriter();
        foreach (JsonElement value in tensor.GetProperty("data").EnumerateArray())
        {
            switch (type)
            {
                case WireDataType.Bool:
                    data.U8(value.GetBoolean() ? (byte)1 : (byte)0);
                    break;
                case WireDataType.UInt8:
                    data.U8(value.GetByte());
                    break;
                case WireDataType.UInt16:
                    data.U16(value.GetUInt16());
                    break;
                case WireDataType.UInt32:
                    data.U32(value.GetUInt32());
                    break;
                case WireDataType.UInt64:
                    data.U64(value.GetUInt64());
                    break;
                case WireDataType.Int8:
                    data.U8((byte)value.GetSByte());
                    break;
                case WireDataType.Int16:
                    data.U16((ushort)value.GetInt16());
                    break;
                case WireDataType.Int32:
                    data.I32(value.GetInt32());
                    break;
                case WireDataType.Int64:
                    data.I64(value.GetInt64());
                    break;
                case WireDataType.Fp16:
                    data.U16(BitConverter.HalfToUInt16Bits((Half)value.GetDouble()));
                    break;
                case WireDataType.Fp32:
                    data.F32(value.GetSingle());
                    break;
                case WireDataType.Fp64:
                    data.U64((ulong)BitConverter.DoubleToInt64Bits(value.GetDouble()));
                    break;
                case WireDataType.Bytes:
                    byte[] utf8 = Encoding.UTF8.GetBytes(value.GetString()!);
                    data.U32((uint)utf8.Length).Raw(utf8);
                    break;
            }
        }

        return new WireTensor(name, type, shape, data.ToArray());
    }

    /// <summary>The elements of a BYTES tensor (the data must hold exactly <see cref="ElementCount"/> of them).</summary>
    public byte[][] GetBytesElements()
    {
        var elements = new byte[ElementCount][];
        int offset = 0;
        for (int i = 0; i < elements.Length; i++)
        {
            int length = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(Data.AsSpan(offset)));
            elements[i] = Data.AsSpan(offset + 4, length).ToArray();
            offset += 4 + length;
        }

        return elements;
    }

    /// <summary>Element <paramref name="index"/> of an FP16, FP32 or FP64 tensor, widened to double.</summary>
    public double GetFloat(long index)
    {
        int size = WireLimits.ElementSize(DataType);
        ReadOnlySpan<byte> element = Data.AsSpan(checked((int)(index * size)), size);
        return DataType switch
        {
            WireDataType.Fp16 => (double)BinaryPrimitives.ReadHalfLittleEndian(element),
            WireDataType.Fp32 => BinaryPrimitives.ReadSingleLittleEndian(element),
            WireDataType.Fp64 => BinaryPrimitives.ReadDoubleLittleEndian(element),
            _ => throw new InvalidOperationException($"tensor '{Name}' is {WireLimits.ProtocolName(DataType)}, not a float type"),
        };
    }

    public override string ToString() =>
        $"'{Name}' {WireLimits.ProtocolName(DataType)} [{string.Join(",", Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))}]";
}
