using System.Buffers.Binary;
using System.Net.Sockets;

namespace Sharpserve.WorkerConformance;

/// <summary>
/// The front's side of one worker connection, as the suite plays it: a Unix stream socket listening in a private
/// temporary folder (mode 0700), one accepted connection, raw frames in and out. Every wait is bounded by the caller.
/// </summary>
public sealed class FakeFront : IAsyncDisposable
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;

    private readonly Socket _listener;
    private Socket? _connection;

    private FakeFront(string directory, string socketPath, Socket listener)
    {
        Directory = directory;
        SocketPath = socketPath;
        _listener = listener;
    }

    /// <summary>The private folder holding the socket; also the worker's scratch folder.</summary>
    public string Directory { get; }

    public string SocketPath { get; }

    public static FakeFront Listen()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("sharpserve-conformance-").FullName;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        string socketPath = Path.Combine(directory, "worker.sock");
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        return new FakeFront(directory, socketPath, listener);
    }

    /// <summary>Waits for the worker's connection; false if none came before <paramref name="giveUp"/> completed.</summary>
    public async Task<bool> AcceptAsync(Task giveUp)
    {
        using var cancel = new CancellationTokenSource();
        Task<Socket> accept = _listener.AcceptAsync(cancel.Token).AsTask();
        if (await Task.WhenAny(accept, giveUp) != accept)
        {
            await cancel.CancelAsync();
            return false;
        }

        _connection = await accept;
        return true;
    }

    /// <summary>The pid of the process at the other end of the connection, as the kernel reports it (SO_PEERCRED).</summary>
    public int PeerProcessId()
    {
        Span<byte> credentials = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        Connection.GetRawSocketOption(SolSocket, SoPeerCred, credentials);
        return BinaryPrimitives.ReadInt32LittleEndian(credentials);
    }

    /// <summary>Writes all of <paramref name="bytes"/>; throws <see cref="TimeoutException"/> past the bound.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            while (!bytes.IsEmpty)
            {
                int sent = await Connection.SendAsync(bytes, SocketFlags.None, timeout.Token);
                bytes = bytes[sent..];
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"the worker took no bytes for {bound}");
        }
    }

    /// <summary>
    /// Reads one whole frame; null when the worker closed the connection between frames. Fails the test when the
    /// connection ends inside a frame or a frame is longer than the limit; throws <see cref="TimeoutException"/>
    /// when no whole frame arrives within the bound.
    /// </summary>
    public async Task<WireFrame?> ReadFrameAsync(TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        byte[] header = new byte[WireLimits.HeaderSize];
        int got = await ReadAsync(header, timeout.Token);
        if (got == 0)
        {
            return null;
        }

        Assert.True(got == header.Length, $"the worker closed the connection inside a frame header ({got} of 13 bytes)");
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        Assert.True(length <= WireLimits.MaxPayloadSize, $"the worker sent a frame of {length} bytes, over the 64 MiB limit");
        byte[] payload = new byte[length];
        got = await ReadAsync(payload, timeout.Token);
        Assert.True(got == payload.Length, $"the worker closed the connection inside a frame ({got} of {length} payload bytes)");
        return new WireFrame(header[4], BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(5)), payload);
    }

    /// <summary>Closes the front's end of the connection, as a front that goes away does.</summary>
    public void CloseConnection()
    {
        _connection?.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        _connection?.Dispose();
        _listener.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A worker still writing into the scratch folder: it is killed before this, so only a race; leave it.
        }

        return ValueTask.CompletedTask;
    }

    private Socket Connection => _connection ?? throw new InvalidOperationException("no worker has connected");

    /// <summary>Fills <paramref name="buffer"/>; returns fewer bytes only when the connection ended.</summary>
    private async Task<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel)
    {
        int total = 0;
        try
        {
            while (total < buffer.Length)
            {
                int read = await Connection.ReceiveAsync(buffer[total..], SocketFlags.None, cancel);
                if (read == 0)
                {
                    break;
                }

                total += read;
            }
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A worker that exits with bytes of ours unread resets the connection: for the front, it ended.
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException("no whole frame from the worker within the bound");
        }

        return total;
    }
}
