using System.Text.Unicode;

namespace Sharpserve.Http;

/// <summary>
/// A query parameter's bytes, percent-decoded from the raw query string. ASP.NET's own query parser replaces
/// percent-encoded bytes that are not UTF-8 with U+FFFD, which would classify a text other than the one sent; this
/// keeps the bytes so they can be refused (400), as an invalid POST body is.
/// </summary>
internal static class QueryText
{
    /// <summary>
    /// The first <paramref name="name"/> parameter of <paramref name="rawQuery"/> (with or without its leading '?'),
    /// '+' as a space, %XX as the byte XX; null when absent.
    /// </summary>
    /// <returns>False when the decoded bytes are not valid UTF-8 or a % is not followed by two hex digits.</returns>
    public static bool TryGet(string? rawQuery, string name, out byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(name);
        value = null;
        ReadOnlySpan<char> query = rawQuery.AsSpan();
        if (query.StartsWith("?"))
        {
            query = query[1..];
        }

        foreach (Range range in query.Split('&'))
        {
            ReadOnlySpan<char> pair = query[range];
            int equals = pair.IndexOf('=');
            ReadOnlySpan<char> key = equals < 0 ? pair : pair[..equals];
            if (!key.SequenceEqual(name))
            {
                continue;
            }

            ReadOnlySpan<char> encoded = equals < 0 ? [] : pair[(equals + 1)..];
            byte[] bytes = new byte[encoded.Length * 3];
            int length = 0;
            for (int i = 0; i < encoded.Length; i++)
            {
                char c = encoded[i];
                if (c == '%')
                {
                    if (i + 2 >= encoded.Length || !byte.TryParse(encoded.Slice(i + 1, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte b))
                    {
                        return false;
                    }

                    bytes[length++] = b;
                    i += 2;
                }
                else if (c == '+')
                {
                    bytes[length++] = (byte)' ';
                }
                else
                {
                    // Kestrel has already refused raw non-ASCII bytes in the request line; UTF-8-encode defensively.
                    length += System.Text.Encoding.UTF8.GetBytes(encoded.Slice(i, 1), bytes.AsSpan(length));
                }
            }

            value = bytes.AsSpan(0, length).ToArray();
            return Utf8.IsValid(value);
        }

        return true;
    }
}
