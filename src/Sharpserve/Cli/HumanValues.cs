using System.Globalization;

namespace Sharpserve.Cli;

/// <summary>Parses the human spellings used on the command line: "250ms", "30s", "2m"; "1m", "512k", "4g".</summary>
internal static class HumanValues
{
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        string t = text.Trim().ToLowerInvariant();
        double factorMs;
        if (t.EndsWith("ms", StringComparison.Ordinal))
        {
            factorMs = 1;
            t = t[..^2];
        }
        else if (t.EndsWith('s'))
        {
            factorMs = 1000;
            t = t[..^1];
        }
        else if (t.EndsWith('m'))
        {
            factorMs = 60_000;
            t = t[..^1];
        }
        else if (t.EndsWith('h'))
        {
            factorMs = 3_600_000;
            t = t[..^1];
        }
        else
        {
            factorMs = 1000; // a bare number is seconds
        }

        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) ||
            !double.IsFinite(number) || number < 0 || number * factorMs > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(number * factorMs);
        return true;
    }

    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        string t = text.Trim().ToLowerInvariant();
        if (t.EndsWith('b'))
        {
            t = t[..^1];
        }

        long factor = 1;
        if (t.Length > 0)
        {
            switch (t[^1])
            {
                case 'k': factor = 1L << 10; t = t[..^1]; break;
                case 'm': factor = 1L << 20; t = t[..^1]; break;
                case 'g': factor = 1L << 30; t = t[..^1]; break;
            }
        }

        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double number) ||
            !double.IsFinite(number) || number < 0 || number * factor > long.MaxValue / 2)
        {
            return false;
        }

        bytes = (long)(number * factor);
        return true;
    }
}
