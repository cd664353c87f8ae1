using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Sharpserve.WorkerConformance;

/// <summary>
/// Appends little-endian fields to a growing byte array: the test side's hand-built bytes, field by field as the
/// specification's tables list them (also for deliberately malformed payloads).
/// </summary>
public sealed class WireWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public WireWriter U8(byte value)
    {
        _buffer.GetSpan(1)[0] = value;
        _buffer.Advance(1);
        return this;
    }

    public WireWriter U16(ushort value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), value);
        _buffer.Advance(2);
        return this;
    }

    public WireWriter I32(int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public WireWriter U32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public WireWriter I64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public WireWriter U64(ulong value)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
        return this;
    }

    public WireWriter F32(float value)
    {
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
        return this;
    }

    public WireWriter Raw(ReadOnlySpan<byte> bytes)
    {
        _buffer.Write(bytes);
        return this;
    }

    /// <summary>A name: u16 byte length, then its UTF-8 bytes.</summary>
    public WireWriter Name(string name)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(name);
        return U16(checked((ushort)utf8.Length)).Raw(utf8);
    }

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();
}
