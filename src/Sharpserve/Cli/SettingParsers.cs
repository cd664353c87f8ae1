using System.Globalization;
using Microsoft.Extensions.Logging;
using Sharpserve.Hosting;
using Sharpserve.Http;

namespace Sharpserve.Cli;

/// <summary>The parsers of setting values, each with the reason it gives for a bad value (the setting's name comes first).</summary>
internal static class SettingParsers
{
    public static SettingParser<int> Integer(int min, int max) =>
        (string text, out int value, out string reason) =>
        {
            reason = max == int.MaxValue ? $"must be an integer of at least {min}" : $"must be an integer from {min} to {max}";
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
        };

    public static SettingParser<long> Count() =>
        (string text, out long value, out string reason) =>
        {
            reason = "must be a non-negative integer";
            return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        };

    /// <summary>A size such as 1m, 512k, 4g or 65536 (bytes), at least <paramref name="min"/>.</summary>
    public static SettingParser<long> Size(long min, string example, string? belowMinimum = null) =>
        (string text, out long value, out string reason) =>
        {
            bool parsed = HumanValues.TryParseSize(text, out value);
            reason = parsed && belowMinimum is not null ? belowMinimum : $"must be a size such as {example}";
            return parsed && value >= min;
        };

    /// <summary>A duration such as 30s, 500ms or 2m (a bare number is seconds); positive unless <paramref name="allowZero"/>.</summary>
    public static SettingParser<TimeSpan> Duration(string example, bool allowZero = false) =>
        (string text, out TimeSpan value, out string reason) =>
        {
            reason = allowZero ? $"must be a duration such as {example}" : $"must be a positive duration such as {example}";
            return HumanValues.TryParseDuration(text, out value) && (allowZero || value > TimeSpan.Zero);
        };

    /// <summary>A duration such as 30s, at least <paramref name="min"/> (named <paramref name="minText"/>), for the reason given.</summary>
    public static SettingParser<TimeSpan> Duration(string example, TimeSpan min, string minText, string why) =>
        (string text, out TimeSpan value, out string reason) =>
        {
            bool parsed = HumanValues.TryParseDuration(text, out value);
            reason = parsed ? $"must be at least {minText}: {why}" : $"must be a duration such as {example}";
            return parsed && value >= min;
        };

    public static bool ModelName(string text, out string value, out string reason)
    {
        value = text;
        reason = "must be a non-empty name without '/'";
        return text.Length > 0 && !text.Contains('/', StringComparison.Ordinal);
    }

    public static bool Host(string text, out string value, out string reason)
    {
        value = text;
        bool valid = ListenAddress.TryFromHost(text, ListenAddress.DefaultPort, out _, out string? error);
        reason = error ?? "";
        return valid;
    }

    public static bool Port(string text, out int value, out string reason)
    {
        reason = "must be an integer from 0 to 65535";
        return ListenAddress.TryParsePort(text, out value);
    }

    public static bool Bind(string text, out ListenAddress value, out string reason)
    {
        bool valid = ListenAddress.TryParse(text, out ListenAddress? listen, out string? error);
        value = listen!;
        reason = error ?? "";
        return valid;
    }

    public static bool LogLevelName(string text, out LogLevel value, out string reason)
    {
        reason = "must be one of trace, debug, information, warning, error";
        return Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _) && value is not Microsoft.Extensions.Logging.LogLevel.None;
    }

    public static bool AccessLogFormatName(string text, out AccessLogFormat value, out string reason)
    {
        reason = "must be combined or json";
        return Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _);
    }

    public static bool ModelControlName(string text, out ModelControlMode value, out string reason)
    {
        reason = "must be none or explicit";
        return Enum.TryParse(text, ignoreCase: true, out value) && !int.TryParse(text, out _);
    }

    /// <summary>The admin token as given: at least <see cref="MinAdminTokenLength"/> characters, no surrounding whitespace.</summary>
    public static bool AdminToken(string text, out string? value, out string reason)
    {
        value = text.Trim();
        reason = $"must be a token of at least {MinAdminTokenLength} characters (e.g. the output of: openssl rand -hex 32)";
        return value.Length >= MinAdminTokenLength;
    }

    /// <summary>The admin token, read from the file named (so it never shows in the process list): its text without surrounding whitespace.</summary>
    public static bool AdminTokenFile(string text, out string? value, out string reason)
    {
        value = null;
        try
        {
            value = File.ReadAllText(text).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            reason = $"must be a readable file holding the admin token: {ex.Message}";
            return false;
        }

        reason = $"must hold a token of at least {MinAdminTokenLength} characters (e.g. the output of: openssl rand -hex 32)";
        return value.Length >= MinAdminTokenLength;
    }

    /// <summary>Shorter tokens can be guessed; 16 characters of hex are 64 bits.</summary>
    public const int MinAdminTokenLength = 16;

    public static bool Proxies(string text, out TrustedProxies value, out string reason)
    {
        bool valid = TrustedProxies.TryParse(text, out TrustedProxies? proxies, out string? error);
        value = proxies ?? TrustedProxies.Loopback;
        reason = error is null ? "" : "must be IP addresses or networks such as 10.0.0.0/8, comma-separated, or '*'";
        return valid;
    }
}
