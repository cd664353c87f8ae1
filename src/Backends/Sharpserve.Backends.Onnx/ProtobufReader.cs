namespace Sharpserve.Backends.Onnx;

/// <summary>
/// A minimal protobuf wire-format reader over a span: enough to walk an ONNX ModelProto and find the fields that
/// matter before ONNX Runtime sees the file. Every length is checked against the bytes that remain; a malformed
/// message makes <see cref="TryReadField"/> return false with <see cref="Failed"/> set, never throw or read past
/// the end.
/// </summary>
internal ref struct ProtobufReader
{
    public const int WireVarint = 0;
    public const int WireFixed64 = 1;
    public const int WireLengthDelimited = 2;
    public const int WireFixed32 = 5;

    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ProtobufReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
        Failed = false;
    }

    /// <summary>True once a malformed field was met; reading stops there.</summary>
    public bool Failed { get; private set; }

    public int FieldNumber { get; private set; }

    public int WireType { get; private set; }

    /// <summary>The value of the current varint field.</summary>
    public ulong Varint { get; private set; }

    /// <summary>The payload of the current length-delimited field.</summary>
    public ReadOnlySpan<byte> Bytes { get; private set; }

    /// <summary>Moves to the next field; false at the end of the message or on malformed input (see <see cref="Failed"/>).</summary>
    public bool TryReadField()
    {
        Bytes = default;
        if (Failed || _position >= _data.Length)
        {
            return false;
        }

        if (!TryReadVarint(out ulong tag) || tag >> 3 is 0 or > int.MaxValue)
        {
            return Fail();
        }

        FieldNumber = (int)(tag >> 3);
        WireType = (int)(tag & 7);
        switch (WireType)
        {
            case WireVarint:
                if (!TryReadVarint(out ulong value))
                {
                    return Fail();
                }

                Varint = value;
                return true;
            case WireFixed64:
                return Skip(8);
            case WireFixed32:
                return Skip(4);
            case WireLengthDelimited:
                if (!TryReadVarint(out ulong length) || length > (ulong)(_data.Length - _position))
                {
                    return Fail();
                }

                Bytes = _data.Slice(_position, (int)length);
                _position += (int)length;
                return true;
            default:
                // Groups (3, 4) are not used by ONNX; anything else is not protobuf.
                return Fail();
        }
    }

    private bool Skip(int count)
    {
        if (_data.Length - _position < count)
        {
            return Fail();
        }

        _position += count;
        return true;
    }

    private bool Fail()
    {
        Failed = true;
        return false;
    }

    private bool TryReadVarint(out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _data.Length)
            {
                return false;
            }

            byte b = _data[_position++];
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Reads every varint of a packed repeated field (or the single value of an unpacked one).</summary>
    public static bool TryReadPackedVarints(ReadOnlySpan<byte> packed, List<long> values)
    {
        var reader = new ProtobufReader(packed);
        while (reader._position < packed.Length)
        {
            if (!reader.TryReadVarint(out ulong value))
            {
                return false;
            }

            values.Add((long)value);
        }

        return true;
    }
}
