namespace Sharpserve.Abstractions;

/// <summary>Conversions between <see cref="TensorDataType"/> and the protocol names ("FP32", "BYTES", ...).</summary>
public static class TensorDataTypes
{
    private static readonly string[] s_names =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    public static string ToProtocolName(this TensorDataType type) => s_names[(int)type];

    /// <summary>Parses a protocol name given as UTF-8 bytes; case-sensitive, as the protocol is.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Name, out TensorDataType type)
    {
        for (int i = 0; i < s_names.Length; i++)
        {
            if (utf8Name.Length == s_names[i].Length && Matches(utf8Name, s_names[i]))
            {
                type = (TensorDataType)i;
                return true;
            }
        }

        type = default;
        return false;
    }

    private static bool Matches(ReadOnlySpan<byte> utf8, string ascii)
    {
        for (int i = 0; i < ascii.Length; i++)
        {
            if (utf8[i] != ascii[i])
            {
                return false;
            }
        }

        return true;
    }
}
