using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Sharpserve.Http;

/// <summary>
/// The <c>Inference-Header-Content-Length</c> HTTP header of the binary tensor data extension: how many bytes at the
/// start of an infer body (request or response) are its JSON; the rest is binary tensor data.
/// </summary>
internal static class OipInferenceHeader
{
    public const string Name = "Inference-Header-Content-Length";

    /// <summary>
    /// The JSON's length in a request body of <paramref name="bodyLength"/> bytes: the header's value, a whole number
    /// from 1 to the body's length; the whole body without the header.
    /// </summary>
    public static bool TryGetJsonLength(StringValues header, int bodyLength, out int jsonLength, out bool given, out string? error)
    {
        jsonLength = bodyLength;
        given = header.Count > 0;
        if (!given)
        {
            error = null;
            return true;
        }

        if (header.Count > 1)
        {
            error = $"the {Name} header is given {header.Count} times; give it once, as the length in bytes of the JSON that starts the body";
            return false;
        }

        string text = header[0] ?? "";
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
        {
            error = $"the {Name} header must be a whole number of bytes (the length of the JSON that starts the body), got '{Shorten(text)}'";
            return false;
        }

        if (value < 1 || value > bodyLength)
        {
            error = $"the {Name} header says the JSON is {value} bytes, but it must be from 1 to the body's length, {bodyLength} bytes";
            return false;
        }

        jsonLength = (int)value;
        error = null;
        return true;
    }

    private static string Shorten(string text) => text.Length > 40 ? text[..40] + "..." : text;
}
