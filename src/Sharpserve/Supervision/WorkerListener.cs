using System.Net.Sockets;

namespace Sharpserve.Supervision;

/// <summary>
/// The front's Unix socket that workers connect to, in a private folder (mode 0700, <see cref="SocketDirectory"/>):
/// accepts each connection and serves it as a <see cref="WorkerConnection"/> until it ends.
/// </summary>
internal sealed class WorkerListener : IAsyncDisposable
{
    private readonly string _directory;
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly CancellationTokenSource _stop = new();
    private Task _accepting = Task.CompletedTask;

    public WorkerListener()
    {
        _directory = SocketDirectory.Create();
        SocketPath = Path.Combine(_directory, "workers.sock");
    }

    public string SocketPath { get; }

    public void Start(IWorkerLifecycle lifecycle, IWorkerAnswers answers, TimeProvider time, Action<string> refused)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _socket.Bind(new UnixDomainSocketEndPoint(SocketPath));
        _socket.Listen(128);
        _accepting = AcceptLoopAsync(lifecycle, answers, time, refused);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _accepting;
        _stop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task AcceptLoopAsync(IWorkerLifecycle lifecycle, IWorkerAnswers answers, TimeProvider time, Action<string> refused)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _socket.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            // Each connection ends by itself when its worker exits or breaks the protocol; the worker is then lost.
            _ = WorkerConnection.ServeAsync(connection, lifecycle, answers, time, refused);
        }
    }
}
