using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Sharpserve.Http;

/// <summary>
/// Who may load and unload models: a request from this machine (a loopback peer or a Unix socket; the connection's
/// own peer, never X-Forwarded-For) that carries <c>Authorization: Bearer TOKEN</c> with the admin token.
/// </summary>
internal static class AdminAccess
{
    /// <summary>
    /// True for a connection on a Unix socket or from a loopback address (IPv4-mapped IPv6 included). A peer
    /// reaching a wildcard bind through the machine's own non-loopback address is remote: it could be anyone.
    /// </summary>
    public static bool IsLocalPeer(EndPoint? localEndPoint, IPAddress? remoteAddress)
    {
        if (localEndPoint is UnixDomainSocketEndPoint)
        {
            return true;
        }

        if (remoteAddress is null)
        {
            return false;
        }

        return IPAddress.IsLoopback(remoteAddress.IsIPv4MappedToIPv6 ? remoteAddress.MapToIPv4() : remoteAddress);
    }

    /// <summary>
    /// Whether <paramref name="authorization"/> is <c>Bearer</c> and <paramref name="token"/>. Both are hashed first and
    /// the hashes compared in constant time, so neither the token's bytes nor its length show in the answer's timing.
    /// </summary>
    public static bool HasToken(string? authorization, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        const string Scheme = "Bearer ";
        if (authorization is null || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        byte[] given = SHA256.HashData(Encoding.UTF8.GetBytes(authorization.AsSpan(Scheme.Length).Trim().ToString()));
        byte[] expected = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        return CryptographicOperations.FixedTimeEquals(given, expected);
    }
}
