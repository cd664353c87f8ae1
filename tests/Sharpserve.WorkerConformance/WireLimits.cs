namespace Sharpserve.WorkerConformance;

/// <summary>The protocol's constants and limits, as docs/worker-protocol.md states them.</summary>
public static class WireLimits
{
    /// <summary>u32 payload length, u8 type, u64 request id.</summary>
    public const int HeaderSize = 13;

    /// <summary>The largest payload a peer accepts (64 MiB, inclusive); a longer one is a protocol error.</summary>
    public const uint MaxPayloadSize = 64u << 20;

    /// <summary>The version a Hello carries.</summary>
    public const ushort ProtocolVersion = 2;

    /// <summary>The requested-outputs count of an Infer that asks for every output.</summary>
    public const ushort AllOutputs = 0xFFFF;

    /// <summary>The most requests the front has in flight at one worker; a worker must take at least this many.</summary>
    public const int MaxInFlightPerWorker = 32;

    /// <summary>Bytes per element of a numeric datatype; 0 for BYTES, whose elements vary.</summary>
    public static int ElementSize(WireDataType type) => type switch
    {
        WireDataType.Bool or WireDataType.UInt8 or WireDataType.Int8 => 1,
        WireDataType.UInt16 or WireDataType.Int16 or WireDataType.Fp16 => 2,
        WireDataType.UInt32 or WireDataType.Int32 or WireDataType.Fp32 => 4,
        WireDataType.UInt64 or WireDataType.Int64 or WireDataType.Fp64 => 8,
        WireDataType.Bytes => 0,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a datatype of the protocol"),
    };

    /// <summary>The OIP spelling of a datatype ("FP32", "BYTES", ...).</summary>
    public static string ProtocolName(WireDataType type) => type switch
    {
        WireDataType.Bool => "BOOL",
        WireDataType.UInt8 => "UINT8",
        WireDataType.UInt16 => "UINT16",
        WireDataType.UInt32 => "UINT32",
        WireDataType.UInt64 => "UINT64",
        WireDataType.Int8 => "INT8",
        WireDataType.Int16 => "INT16",
        WireDataType.Int32 => "INT32",
        WireDataType.Int64 => "INT64",
        WireDataType.Fp16 => "FP16",
        WireDataType.Fp32 => "FP32",
        WireDataType.Fp64 => "FP64",
        WireDataType.Bytes => "BYTES",
        _ => $"datatype {(byte)type}",
    };

    /// <summary>Parses an OIP datatype name.</summary>
    public static WireDataType ParseProtocolName(string name)
    {
        foreach (WireDataType type in Enum.GetValues<WireDataType>())
        {
            if (ProtocolName(type) == name)
            {
                return type;
            }
        }

        throw new ArgumentException($"'{name}' is not an OIP datatype", nameof(name));
    }
}
