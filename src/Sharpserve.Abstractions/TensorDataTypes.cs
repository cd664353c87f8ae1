namespace Sharpserve.Abstractions;

/// <summary>Conversions between <see cref="TensorDataType"/> and the protocol names ("FP32", "BYTES", ...).</summary>
public static class TensorDataTypes
{
    private static readonly string[] s_names =
        ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"];

    private static readonly int[] s_sizes = [1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8, 0];

    public static string ToProtocolName(this TensorDataType type) => s_names[(int)type];

    /// <summary>Bytes per element of a numeric type (BOOL is one byte); 0 for BYTES, whose elements vary.</summary>
    public static int ElementSize(this TensorDataType type) => s_sizes[(int)type];

    /// <summary>
    /// The product of <paramref name="shape"/>, computed with overflow checks: false (and -1) when a dimension is
    /// negative or the product exceeds <paramref name="maxElements"/>.
    /// </summary>
    public static bool TryGetElementCount(ReadOnlySpan<long> shape, long maxElements, out long elements)
    {
        elements = 1;
        foreach (long dim in shape)
        {
            if (dim < 0 || (dim != 0 && elements > maxElements / dim))
            {
                elements = -1;
                return false;
            }

            elements *= dim;
        }

        if (elements > maxElements)
        {
            elements = -1;
            return false;
        }

        return true;
    }

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
