using System.Net;
using System.Net.Sockets;

namespace Sharpserve.FunctionalTests.Listening;

/// <summary>HTTP clients that reach a server the way an operator's tools would: a TCP address, or a Unix socket.</summary>
internal static class Clients
{
    /// <summary>Whether this machine has an IPv6 loopback to bind and dial (a container may have none).</summary>
    public static bool HasIPv6Loopback { get; } = CheckIPv6Loopback();

    public static HttpClient Tcp(IPAddress address, int port) =>
        new() { BaseAddress = new Uri($"http://{new IPEndPoint(address, port)}/"), Timeout = TimeSpan.FromSeconds(30) };

    public static HttpClient Unix(string path)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellation) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellation);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri("http://localhost/"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public static async Task<string> ClassifyAsync(HttpClient client, string text)
    {
        using HttpResponseMessage response = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(text));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        return body;
    }

    public static async Task<bool> IsReadyAsync(HttpClient client)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>A free TCP port on 127.0.0.1 right now (for tests that must name a port, e.g. two listeners on one port).</summary>
    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static bool CheckIPv6Loopback()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.IPv6Loopback, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
