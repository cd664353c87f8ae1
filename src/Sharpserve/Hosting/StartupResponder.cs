using System.Net;
using System.Net.Sockets;

namespace Sharpserve.Hosting;

/// <summary>
/// Answers the server's TCP addresses while <c>serve</c> prepares and opens its models, before the server itself
/// listens: <c>GET</c> or <c>HEAD /v2/health/live</c> is 200, as the server answers it, and every other request is 503
/// with Retry-After, as before the server is ready. A big model takes a while to prepare (its image, an ONNX bake) and
/// to load (a Python model's <c>load()</c>); a liveness probe that found nothing listening meanwhile would have the
/// orchestrator kill the process and start the preparation over (docs/deploy.md). Just before the server binds the
/// same addresses, <see cref="DisposeAsync"/> closes them. A port 0 (a free port, not known in advance) and a Unix
/// socket are left to the server; an address that cannot be bound now is skipped, and the server reports it.
/// </summary>
internal sealed class StartupResponder : IAsyncDisposable
{
    /// <summary>The largest request head read; probes send a few hundred bytes.</summary>
    private const int MaxRequestHeadBytes = 8192;

    /// <summary>How long one connection may take to send its request and to close after the answer.</summary>
    private static readonly TimeSpan s_connectionTimeout = TimeSpan.FromSeconds(5);

    private static readonly byte[] s_live =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"live\":true}"u8.ToArray();

    private static readonly byte[] s_liveHead =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n"u8.ToArray();

    private static readonly byte[] s_loading =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: 44\r\nConnection: close\r\n\r\n{\"error\":\"the server is loading its models\"}"u8.ToArray();

    private readonly List<Socket> _listeners;
    private readonly List<Task> _acceptLoops = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _disposed;

    private StartupResponder(List<Socket> listeners)
    {
        _listeners = listeners;
    }

    /// <summary>The addresses answered, as bound (for tests and logs).</summary>
    public IReadOnlyList<EndPoint> Bound => [.. _listeners.Select(static s => s.LocalEndPoint!)];

    /// <summary>Binds every TCP address of <paramref name="addresses"/> with a port and starts answering them.</summary>
    public static StartupResponder Start(IReadOnlyList<ListenAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        var listeners = new List<Socket>();
        foreach (ListenAddress address in addresses)
        {
            if (address.IsUnix || address.Port == 0)
            {
                continue;
            }

            IPAddress[] ips = address.IsLocalhost ? [IPAddress.Loopback, IPAddress.IPv6Loopback] : [address.Address!];
            foreach (IPAddress ip in ips)
            {
                if (TryListen(new IPEndPoint(ip, address.Port)) is { } listener)
                {
                    listeners.Add(listener);
                }
            }
        }

        var responder = new StartupResponder(listeners);
        foreach (Socket listener in listeners)
        {
            responder._acceptLoops.Add(responder.AcceptAsync(listener));
        }

        return responder;
    }

    /// <summary>Stops answering and closes the addresses, so the server can bind them. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (Socket listener in _listeners)
        {
            listener.Dispose();
        }

        await Task.WhenAll(_acceptLoops).ConfigureAwait(false);
        _stop.Dispose();
    }

    /// <summary>A listening socket bound as Kestrel binds (SO_REUSEADDR, dual-stack for ::), or null when the address is taken.</summary>
    private static Socket? TryListen(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
            socket.Listen();
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }

    private async Task AcceptAsync(Socket listener)
    {
        var answers = new List<Task>();
        while (true)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                break;
            }

            answers.RemoveAll(static t => t.IsCompleted);
            answers.Add(AnswerAsync(connection));
        }

        await Task.WhenAll(answers).ConfigureAwait(false);
    }

    /// <summary>Reads one request head, answers it and closes; the client closes first, so the port has no TIME_WAIT of ours.</summary>
    private async Task AnswerAsync(Socket connection)
    {
        using (connection)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(s_connectionTimeout);
            byte[] head = new byte[MaxRequestHeadBytes];
            try
            {
                int length = 0;
                while (length < head.Length && head.AsSpan(0, length).IndexOf("\r\n\r\n"u8) < 0)
                {
                    int read = await connection.ReceiveAsync(head.AsMemory(length), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                await connection.SendAsync(Answer(head.AsSpan(0, length)), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                connection.Shutdown(SocketShutdown.Send);
                while (await connection.ReceiveAsync(head, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
                {
                    // Drains what the client still sends until it closes.
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // A client that goes away, or the server taking over: nothing to answer.
            }
        }
    }

    /// <summary>The answer to a request head: liveness for GET or HEAD /v2/health/live, "loading" for anything else.</summary>
    internal static byte[] Answer(ReadOnlySpan<byte> head)
    {
        ReadOnlySpan<byte> path = "/v2/health/live"u8;
        bool get = head.StartsWith("GET "u8);
        bool isHead = head.StartsWith("HEAD "u8);
        if (get || isHead)
        {
            ReadOnlySpan<byte> target = head[(get ? 4 : 5)..];
            if (target.StartsWith(path) && target.Length > path.Length && target[path.Length] is (byte)' ' or (byte)'?')
            {
                return isHead ? s_liveHead : s_live;
            }
        }

        return s_loading;
    }
}
