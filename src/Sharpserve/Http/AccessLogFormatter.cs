using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.Http;

/// <summary>
/// Formats access-log lines (docs/operations.md#access-log). Combined is gunicorn's default format
/// (<c>%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"</c>) followed by the duration in seconds and
/// the model as NAME/VERSION ("-" when the request named none); JSON has the same fields by name.
/// </summary>
internal sealed class AccessLogFormatter(AccessLogFormat format, TrustedProxies proxies)
{
    private readonly StringBuilder _line = new(256);
    private Utf8JsonWriter? _json;

    /// <summary>Appends one line, newline included, to <paramref name="output"/>.</summary>
    public void Write(in AccessLogEntry entry, IBufferWriter<byte> output)
    {
        (string client, string scheme) = ResolveClient(entry, proxies);
        if (format == AccessLogFormat.Json)
        {
            WriteJson(entry, client, scheme, output);
        }
        else
        {
            WriteCombined(entry, client, output);
        }
    }

    /// <summary>
    /// The client: the peer, or, when the peer is a trusted proxy, the nearest untrusted address in
    /// X-Forwarded-For read from the right (each trusted hop may add one); the scheme from X-Forwarded-Proto at the
    /// same position. Headers from an untrusted peer are ignored.
    /// </summary>
    public static (string Client, string Scheme) ResolveClient(in AccessLogEntry entry, TrustedProxies proxies)
    {
        string peer = entry.Peer is null ? "-" : TrustedProxies.Normalize(entry.Peer).ToString();
        if (!proxies.Trusts(entry.Peer) || string.IsNullOrEmpty(entry.ForwardedFor))
        {
            return (peer, entry.Scheme);
        }

        string[] hops = entry.ForwardedFor.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string[] protos = string.IsNullOrEmpty(entry.ForwardedProto)
            ? []
            : entry.ForwardedProto.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        string client = peer;
        string scheme = entry.Scheme;
        for (int i = hops.Length - 1; i >= 0; i--)
        {
            if (!TryParseHop(hops[i], out IPAddress? hop))
            {
                break; // garbage: keep the last address that a trusted hop vouched for
            }

            client = hop.ToString();
            int fromRight = hops.Length - 1 - i;
            if (fromRight < protos.Length)
            {
                scheme = protos[protos.Length - 1 - fromRight].ToLowerInvariant() is "https" ? "https" : "http";
            }

            if (!proxies.Trusts(hop))
            {
                break;
            }
        }

        return (client, scheme);
    }

    /// <summary>An X-Forwarded-For entry: an address, possibly with a port ("1.2.3.4:5678", "[::1]:80").</summary>
    private static bool TryParseHop(string text, out IPAddress address)
    {
        if (IPEndPoint.TryParse(text, out IPEndPoint? endPoint))
        {
            address = TrustedProxies.Normalize(endPoint.Address);
            return true;
        }

        address = IPAddress.None;
        return false;
    }

    private void WriteCombined(in AccessLogEntry entry, string client, IBufferWriter<byte> output)
    {
        StringBuilder line = _line.Clear();
        line.Append(client).Append(" - - [")
            .Append(entry.Time.ToString("dd/MMM/yyyy:HH:mm:ss", CultureInfo.InvariantCulture)).Append(" +0000] \"");
        AppendEscaped(line, entry.Method).Append(' ');
        AppendEscaped(line, entry.Target).Append(' ');
        AppendEscaped(line, entry.Protocol).Append("\" ")
            .Append(entry.Status.ToString(CultureInfo.InvariantCulture)).Append(' ');
        if (entry.Bytes > 0)
        {
            line.Append(entry.Bytes.ToString(CultureInfo.InvariantCulture));
        }
        else
        {
            line.Append('-');
        }

        line.Append(" \"");
        AppendEscaped(line, string.IsNullOrEmpty(entry.Referer) ? "-" : entry.Referer).Append("\" \"");
        AppendEscaped(line, string.IsNullOrEmpty(entry.UserAgent) ? "-" : entry.UserAgent).Append("\" ")
            .Append(entry.DurationSeconds.ToString("0.000000", CultureInfo.InvariantCulture)).Append(' ');
        if (entry.Model is null)
        {
            line.Append('-');
        }
        else
        {
            AppendEscaped(line, entry.Model, unquoted: true).Append('/');
            AppendEscaped(line, entry.ModelVersion ?? "-", unquoted: true);
        }

        line.Append('\n');
        foreach (ReadOnlyMemory<char> chunk in line.GetChunks())
        {
            Encoding.UTF8.GetBytes(chunk.Span, output);
        }
    }

    /// <summary>
    /// Quotes, backslashes and control characters as \xHH, as nginx does (and spaces in unquoted fields), so a line
    /// stays one line with the same fields.
    /// </summary>
    private static StringBuilder AppendEscaped(StringBuilder line, string value, bool unquoted = false)
    {
        foreach (char c in value)
        {
            if (c is '"' or '\\' || char.IsControl(c) || (unquoted && c == ' '))
            {
                line.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:X2}");
            }
            else
            {
                line.Append(c);
            }
        }

        return line;
    }

    private void WriteJson(in AccessLogEntry entry, string client, string scheme, IBufferWriter<byte> output)
    {
        if (_json is null)
        {
            _json = new Utf8JsonWriter(output, JsonWriting.Options);
        }
        else
        {
            _json.Reset(output);
        }

        Utf8JsonWriter json = _json;
        json.WriteStartObject();
        json.WriteString("time"u8, entry.Time.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        json.WriteString("client"u8, client);
        json.WriteString("method"u8, entry.Method);
        int query = entry.Target.IndexOf('?', StringComparison.Ordinal);
        json.WriteString("path"u8, query < 0 ? entry.Target : entry.Target[..query]);
        json.WriteString("query"u8, query < 0 ? "" : entry.Target[(query + 1)..]);
        json.WriteString("protocol"u8, entry.Protocol);
        json.WriteString("scheme"u8, scheme);
        json.WriteNumber("status"u8, entry.Status);
        json.WriteNumber("bytes"u8, entry.Bytes);
        json.WriteNumber("duration_seconds"u8, Math.Round(entry.DurationSeconds, 6));
        WriteStringOrNull(json, "model"u8, entry.Model);
        WriteStringOrNull(json, "model_version"u8, entry.Model is null ? null : entry.ModelVersion);
        WriteStringOrNull(json, "referer"u8, entry.Referer);
        WriteStringOrNull(json, "user_agent"u8, entry.UserAgent);
        json.WriteEndObject();
        json.Flush();
        output.Write("\n"u8);
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
