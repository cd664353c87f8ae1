using System.Net;

namespace Sharpserve.Http;

/// <summary>
/// The peers whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> headers are believed (gunicorn's
/// <c>--forwarded-allow-ips</c>): addresses and networks, or every peer ("*"). A Unix-socket peer is always
/// trusted: only processes the socket's file mode lets in can connect (docs/operations.md#behind-a-proxy).
/// </summary>
public sealed class TrustedProxies
{
    private readonly IPNetwork[] _networks;

    private TrustedProxies(IPNetwork[] networks, bool all, string text)
    {
        _networks = networks;
        AllowsAll = all;
        Text = text;
    }

    /// <summary>The default: the loopback addresses only.</summary>
    public static TrustedProxies Loopback { get; } =
        new([new IPNetwork(IPAddress.Loopback, 32), new IPNetwork(IPAddress.IPv6Loopback, 128)], all: false, "127.0.0.1,::1");

    public bool AllowsAll { get; }

    /// <summary>As given, for messages.</summary>
    public string Text { get; }

    /// <summary>
    /// Parses a comma-separated list of IP addresses and CIDR networks (<c>10.0.0.0/8</c>), or "*" for every peer.
    /// </summary>
    /// <returns>False with the offending entry in <paramref name="error"/>.</returns>
    public static bool TryParse(string text, out TrustedProxies? proxies, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        proxies = null;
        error = null;
        var networks = new List<IPNetwork>();
        bool all = false;
        foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == "*")
            {
                all = true;
            }
            else if (part.Contains('/', StringComparison.Ordinal) && IPNetwork.TryParse(part, out IPNetwork network))
            {
                networks.Add(network);
            }
            else if (IPAddress.TryParse(part, out IPAddress? address) && (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || part.Count(c => c == '.') == 3))
            {
                networks.Add(new IPNetwork(Normalize(address), address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            }
            else
            {
                error = $"'{part}' is not an IP address, a network such as 10.0.0.0/8, or '*'";
                return false;
            }
        }

        if (!all && networks.Count == 0)
        {
            error = "is empty; give addresses such as 127.0.0.1,10.0.0.5 or '*'";
            return false;
        }

        proxies = new TrustedProxies([.. networks], all, text);
        return true;
    }

    /// <summary>Whether headers set by <paramref name="peer"/> are believed; null is a Unix-socket peer.</summary>
    public bool Trusts(IPAddress? peer)
    {
        if (AllowsAll || peer is null)
        {
            return true;
        }

        IPAddress address = Normalize(peer);
        foreach (IPNetwork network in _networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; compare it as IPv4.</summary>
    public static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    public override string ToString() => Text;
}
