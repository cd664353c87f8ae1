using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Sharpserve.Hosting;

/// <summary>
/// One address the server listens on: a TCP address and port (<see cref="IPAddress.Any"/> and
/// <see cref="IPAddress.IPv6Any"/> for every address; <see cref="IsLocalhost"/> for both loopbacks), or a Unix
/// socket path. Written the way gunicorn's <c>--bind</c> takes it (docs/operations.md#listening):
/// <c>HOST:PORT</c>, <c>[IPv6]:PORT</c>, <c>:PORT</c>, <c>HOST</c> (port 8000), <c>unix:PATH</c>.
/// </summary>
public sealed record ListenAddress
{
    /// <summary>gunicorn's and Sharpserve's default port.</summary>
    public const int DefaultPort = 8000;

    private ListenAddress(IPAddress? address, int port, string? unixPath, bool isLocalhost)
    {
        Address = address;
        Port = port;
        UnixPath = unixPath;
        IsLocalhost = isLocalhost;
    }

    /// <summary>The IP address to bind; null for a Unix socket or for <see cref="IsLocalhost"/>.</summary>
    public IPAddress? Address { get; }

    /// <summary>The TCP port; 0 picks a free one. Unused for a Unix socket.</summary>
    public int Port { get; }

    /// <summary>The socket file of a Unix-socket listener; null for TCP.</summary>
    public string? UnixPath { get; }

    /// <summary>"localhost": both loopback addresses, 127.0.0.1 and ::1.</summary>
    public bool IsLocalhost { get; }

    public bool IsUnix => UnixPath is not null;

    /// <summary>Every address of one family (0.0.0.0, or :: which also takes IPv4 where the kernel allows dual-stack).</summary>
    public bool IsWildcard => Address is not null && (Address.Equals(IPAddress.Any) || Address.Equals(IPAddress.IPv6Any));

    public static ListenAddress Tcp(IPAddress address, int port)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new ListenAddress(address, port, null, isLocalhost: false);
    }

    public static ListenAddress Localhost(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new ListenAddress(null, port, null, isLocalhost: true);
    }

    public static ListenAddress Unix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new ListenAddress(null, 0, Path.GetFullPath(path), isLocalhost: false);
    }

    /// <summary>
    /// The listener for <c>--host HOST --port PORT</c>: an IP address or "localhost".
    /// </summary>
    /// <returns>False with a reason (to follow the setting's name) when the host is not an IP address or "localhost".</returns>
    public static bool TryFromHost(string host, int port, out ListenAddress? listen, out string? error)
    {
        ArgumentNullException.ThrowIfNull(host);
        listen = null;
        error = null;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            listen = Localhost(port);
            return true;
        }

        string bare = host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
        // IPAddress.TryParse also takes "8000" or "127.1" as IPv4; only dotted quads and IPv6 are accepted here.
        bool shortIPv4 = !bare.Contains(':', StringComparison.Ordinal) && bare.Count(c => c == '.') != 3;
        if (shortIPv4 || !IPAddress.TryParse(bare, out IPAddress? address) || bare.Contains('%', StringComparison.Ordinal))
        {
            error = "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::, or 'localhost'";
            return false;
        }

        listen = Tcp(address, port);
        return true;
    }

    /// <summary>
    /// Parses one of gunicorn's bind forms: <c>HOST:PORT</c>, <c>[IPv6]:PORT</c>, <c>:PORT</c> (every address),
    /// <c>HOST</c> (port 8000), <c>unix:PATH</c> (also <c>unix://PATH</c>), each optionally after <c>tcp://</c>.
    /// </summary>
    /// <returns>False with a reason (to follow the setting's name and precede the value) for anything else.</returns>
    public static bool TryParse(string text, out ListenAddress? listen, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        listen = null;
        error = null;
        string value = text.Trim();
        if (value.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            string path = value[5..];
            if (path.StartsWith("//", StringComparison.Ordinal))
            {
                path = path[2..];
            }

            if (path.Length == 0)
            {
                error = "names no socket path (give unix:/run/sharpserve.sock)";
                return false;
            }

            listen = Unix(path);
            return true;
        }

        if (value.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase))
        {
            value = value[6..];
        }

        if (value.Contains("://", StringComparison.Ordinal) || value.StartsWith("fd:", StringComparison.OrdinalIgnoreCase))
        {
            error = "is not a bind address (give HOST:PORT, [IPv6]:PORT, :PORT or unix:PATH)";
            return false;
        }

        string host;
        string? portText;
        if (value.StartsWith('['))
        {
            int close = value.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < value.Length && value[close + 1] != ':'))
            {
                error = "needs an IPv6 address in brackets, as [::1]:8000";
                return false;
            }

            host = value[..(close + 1)];
            portText = close + 1 < value.Length ? value[(close + 2)..] : null;
        }
        else
        {
            int colon = value.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && value.IndexOf(':', colon + 1) >= 0)
            {
                error = "needs an IPv6 address in brackets, as [::]:8000";
                return false;
            }

            host = colon < 0 ? value : value[..colon];
            portText = colon < 0 ? null : value[(colon + 1)..];
        }

        int port = DefaultPort;
        if (portText is not null && !TryParsePort(portText, out port))
        {
            error = "has no valid port (an integer from 0 to 65535 after the last ':')";
            return false;
        }

        if (host.Length == 0)
        {
            // ":PORT": every address, IPv6 and IPv4 through one dual-stack socket where the machine has IPv6.
            listen = Tcp(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, port);
            return true;
        }

        if (!TryFromHost(host, port, out listen, out _))
        {
            error = host.All(char.IsAsciiDigit)
                ? "must have an IP address or 'localhost' as its host (for a port on every address write :PORT)"
                : "must have an IP address such as 127.0.0.1, 0.0.0.0 or [::], or 'localhost', as its host";
            return false;
        }

        return true;
    }

    public static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535;

    /// <summary>This listener with its port replaced (the real port after binding port 0).</summary>
    public ListenAddress WithPort(int port) =>
        IsUnix ? this : new ListenAddress(Address, port, null, IsLocalhost);

    /// <summary>
    /// Where a client on this machine reaches this listener: a loopback address of the right family for a wildcard
    /// (0.0.0.0 and :: are not destinations), 127.0.0.1 for localhost, the address itself otherwise.
    /// </summary>
    public IPAddress DialAddress =>
        IsLocalhost || Address is null ? IPAddress.Loopback
        : Address.Equals(IPAddress.Any) ? IPAddress.Loopback
        : Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback
        : Address;

    /// <summary>As gunicorn and the log write it: <c>http://0.0.0.0:8000</c>, <c>http://[::]:8000</c>, <c>unix:/run/s.sock</c>.</summary>
    public override string ToString() =>
        UnixPath is not null ? $"unix:{UnixPath}"
        : IsLocalhost ? $"http://localhost:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"http://{new IPEndPoint(Address!, Port)}";
}
