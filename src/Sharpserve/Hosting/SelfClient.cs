using System.Net.Sockets;

namespace Sharpserve.Hosting;

/// <summary>
/// An HTTP client for requests the server sends to itself (warm-up): it dials a loopback address of the listener's
/// family, or its Unix socket, never the bound address itself (0.0.0.0 and :: are not destinations).
/// </summary>
internal static class SelfClient
{
    /// <summary>The base URI a client on this machine uses for <paramref name="listener"/> (http://localhost/ for a Unix socket).</summary>
    public static Uri BaseAddress(ListenAddress listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return listener.IsUnix
            ? new Uri("http://localhost/")
            : new Uri($"http://{new System.Net.IPEndPoint(listener.DialAddress, listener.Port)}/");
    }

    public static HttpClient Create(ListenAddress listener, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(listener);
        var handler = new SocketsHttpHandler { UseProxy = false };
        if (listener.UnixPath is { } path)
        {
            handler.ConnectCallback = (_, cancellation) => ConnectUnixAsync(path, cancellation);
        }

        return new HttpClient(handler) { BaseAddress = BaseAddress(listener), Timeout = timeout };
    }

    public static async ValueTask<Stream> ConnectUnixAsync(string path, CancellationToken cancellation)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellation);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
