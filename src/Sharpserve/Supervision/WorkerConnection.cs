using System.Net.Sockets;
using System.Runtime.InteropServices;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// The front's end of one worker's connection: the handshake (the first frame must be Hello, in this protocol
/// version, from the process the kernel says is at the other end, naming a starting worker), then each frame to
/// its owner (Ready to the supervisor, answers to the executor), and every byte received or flushed to the worker's
/// progress, which the heartbeat judges. When the connection ends the worker is lost; a refused handshake is logged.
/// </summary>
internal sealed class WorkerConnection : IFrameHandler
{
    private readonly FrameConnection _connection;
    private readonly IWorkerLifecycle _lifecycle;
    private readonly IWorkerAnswers _answers;
    private readonly TimeProvider _time;
    private readonly int? _peerPid;
    private Worker? _worker;
    private bool _answerInRead;

    private WorkerConnection(Socket socket, IWorkerLifecycle lifecycle, IWorkerAnswers answers, TimeProvider time)
    {
        _lifecycle = lifecycle;
        _answers = answers;
        _time = time;
        _peerPid = PeerPid(socket);
        _connection = new FrameConnection(socket, this);
    }

    /// <summary>Serves an accepted socket until it ends; <paramref name="refused"/> hears why a connection was turned away.</summary>
    public static async Task ServeAsync(Socket socket, IWorkerLifecycle lifecycle, IWorkerAnswers answers, TimeProvider time, Action<string> refused)
    {
        var connection = new WorkerConnection(socket, lifecycle, answers, time);
        await using (connection._connection)
        {
            connection._connection.Start();
            string reason = await connection._connection.Completion;
            if (connection._worker is { } worker)
            {
                lifecycle.OnLost(worker, reason);
            }
            else
            {
                refused(reason);
            }
        }
    }

    public void OnFrame(in Frame frame)
    {
        if (_worker is not { } worker)
        {
            _worker = Handshake(frame);
            _worker.Progress.Heard(_time.GetTimestamp(), answer: true);
            return;
        }

        switch (frame.Type)
        {
            case FrameType.Ready:
                _lifecycle.OnReady(worker, PayloadReader.ReadReady(frame.Payload));
                break;
            case FrameType.Result:
            case FrameType.Error:
                _answerInRead = true;
                _answers.OnAnswer(worker, frame);
                break;
            case FrameType.Pong:
                break; // its bytes are the sign of life (OnReceived)
            default:
                throw new IpcProtocolException($"unexpected {frame.Type} frame from a worker");
        }
    }

    public void OnReceived(FrameType? partial)
    {
        // Every read brings new bytes: a sign of life, and progress when they are (part of) an answer, e.g. a large
        // Result still arriving (WorkerProgress).
        _worker?.Progress.Heard(_time.GetTimestamp(), _answerInRead || partial is FrameType.Result or FrameType.Error);
        _answerInRead = false;
    }

    public void OnFlushed(ulong highestRequestId, bool ping) =>
        _worker?.Progress.Flushed(_time.GetTimestamp(), highestRequestId, ping);

    public void OnRefused(in OutgoingFrame frame, IpcProtocolException reason)
    {
        if (_worker is { } worker)
        {
            _answers.OnRefused(worker, frame, reason);
        }
    }

    private Worker Handshake(in Frame hello)
    {
        if (hello.Type != FrameType.Hello)
        {
            throw new IpcProtocolException($"its first frame was {hello.Type}, not Hello");
        }

        (ushort version, int pid, int id) = PayloadReader.ReadHello(hello.Payload);
        if (version != Frame.ProtocolVersion)
        {
            throw new IpcProtocolException($"it speaks protocol version {version}, the front {Frame.ProtocolVersion}");
        }

        if (_peerPid is { } peer && peer != pid)
        {
            throw new IpcProtocolException($"it says it is pid {pid}, but the socket's peer is pid {peer}");
        }

        return _lifecycle.TryAttach(id, pid, _connection)
            ?? throw new IpcProtocolException($"no starting worker {id} with pid {pid}");
    }

    /// <summary>The pid of the process at the other end, from the kernel (SO_PEERCRED); null where that is not available.</summary>
    private static int? PeerPid(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        const int SolSocket = 1;
        const int SoPeerCred = 17;
        Span<byte> credentials = stackalloc byte[12]; // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
        try
        {
            return socket.GetRawSocketOption(SolSocket, SoPeerCred, credentials) >= 4
                ? MemoryMarshal.Read<int>(credentials)
                : null;
        }
        catch (SocketException)
        {
            return null;
        }
    }
}
