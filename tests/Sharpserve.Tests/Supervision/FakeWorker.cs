using System.Net.Sockets;
using System.Threading.Channels;
using Sharpserve.Abstractions;
using Sharpserve.Ipc;
using Sharpserve.Supervision;

namespace Sharpserve.Tests.Supervision;

/// <summary>
/// A test double of a worker process, in this process: it connects to the supervisor's real Unix socket and speaks
/// the protocol (Hello, Ready, answers, Pongs) as the test tells it, so supervision can be tested step by step
/// with fake time. Its "process" is its <see cref="Handle"/>: killing it closes the connection and reports an exit.
/// </summary>
internal sealed class FakeWorker : IFrameHandler
{
    private readonly Channel<Frame2> _received = Channel.CreateUnbounded<Frame2>();
    private readonly FakeWorkerOptions _options;
    private readonly ChannelWriter<(FakeWorker Worker, Frame2 Frame)> _infers;
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FrameConnection? _connection;

    public FakeWorker(WorkerLaunch launch, FakeWorkerOptions options, ChannelWriter<(FakeWorker Worker, Frame2 Frame)> infers)
    {
        Launch = launch;
        _options = options;
        _infers = infers;
        Handle = new FakeHandle(this);
    }

    public WorkerLaunch Launch { get; }

    public FakeHandle Handle { get; }

    public int Id => Launch.Id;

    /// <summary>Connects and says Hello (and Ready, unless the test will say it).</summary>
    public async Task StartAsync()
    {
        if (_options.DieBeforeHello)
        {
            Exit("exited with code 3");
            return;
        }

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Launch.SocketPath));
        _connection = new FrameConnection(socket, this);
        _connection.Start();
        _connection.TrySend(OutgoingFrame.Hello(Environment.ProcessId, _options.HelloId ?? Launch.Id));
        _connected.TrySetResult();
        if (_options.ReadyAtOnce)
        {
            _connection.TrySend(OutgoingFrame.Ready(4096));
        }
    }

    /// <summary>Says Ready once it has connected and said Hello.</summary>
    public async Task SayReadyAsync()
    {
        await _connected.Task.WaitAsync(TimeSpan.FromSeconds(30));
        _connection!.TrySend(OutgoingFrame.Ready(4096));
    }

    /// <summary>A frame already received and not yet taken, without waiting (Pings skipped).</summary>
    public bool TryReceive(out Frame2 frame)
    {
        while (_received.Reader.TryRead(out frame))
        {
            if (frame.Type != FrameType.Ping)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The next frame the front sent (Infer, Ping, Shutdown), skipping Pings unless <paramref name="pings"/>.</summary>
    public async Task<Frame2> ReceiveAsync(bool pings = false)
    {
        while (true)
        {
            Frame2 frame = await _received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            if (pings || frame.Type != FrameType.Ping)
            {
                return frame;
            }
        }
    }

    public void Answer(ulong requestId, string label) =>
        _connection!.TrySend(OutgoingFrame.Result(requestId, new InferenceResponse([Tensor.FromBytes("label", [1], [System.Text.Encoding.UTF8.GetBytes(label)])])));

    /// <summary>The process ends (its connection closes with it).</summary>
    public void Exit(string how)
    {
        _connection?.Abort("exited");
        Handle.Exit(how);
    }

    public void OnFrame(in Frame frame)
    {
        InferenceRequest? request = frame.Type == FrameType.Infer ? PayloadReader.ReadInfer(frame.Payload) : null;
        var received = new Frame2(frame.Type, frame.RequestId, request);
        _received.Writer.TryWrite(received);
        if (frame.Type == FrameType.Infer)
        {
            _infers.TryWrite((this, received));
        }

        switch (frame.Type)
        {
            case FrameType.Ping when _options.AnswerPings:
                _connection!.TrySend(OutgoingFrame.Empty(FrameType.Pong, frame.RequestId));
                break;
            case FrameType.Infer when _options.AnswerAtOnce is { } label:
                Answer(frame.RequestId, label);
                break;
            case FrameType.Shutdown:
                // Answers were sent before: a worker exits once it has flushed them.
                _ = ExitAfterFlushAsync();
                break;
        }
    }

    public void OnRefused(in OutgoingFrame frame, IpcProtocolException reason)
    {
    }

    /// <summary>As the real worker: after Shutdown it flushes its answers and exits 0, also when the front closes the connection first.</summary>
    private async Task ExitAfterFlushAsync()
    {
        _connection!.CompleteSending();
        await Task.WhenAny(_connection.SendingCompleted, _connection.Completion);
        Exit("exited with code 0");
    }

    /// <summary>A frame the fake received: its type, id and, for Infer, the request.</summary>
    internal readonly record struct Frame2(FrameType Type, ulong RequestId, InferenceRequest? Request);

    /// <summary>The fake's "process": the test's own pid (what SO_PEERCRED reports for the fake's socket).</summary>
    internal sealed class FakeHandle(FakeWorker worker) : IWorkerHandle
    {
        private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Pid => Environment.ProcessId;

        public Task<string> Exited => _exited.Task;

        public bool WasKilled { get; private set; }

        public void Kill()
        {
            if (!_exited.Task.IsCompleted)
            {
                WasKilled = true;
                worker.Exit("was killed by signal 9");
            }
        }

        public void Exit(string how) => _exited.TrySetResult(how);

        public void Dispose()
        {
        }
    }
}

/// <summary>How a <see cref="FakeWorker"/> behaves without being told.</summary>
internal sealed record FakeWorkerOptions
{
    public bool ReadyAtOnce { get; init; } = true;

    public bool AnswerPings { get; init; } = true;

    /// <summary>Answers every Infer at once with this label; null: the test answers (or never does).</summary>
    public string? AnswerAtOnce { get; init; }

    /// <summary>Exits before connecting, as a worker whose model cannot load.</summary>
    public bool DieBeforeHello { get; init; }

    /// <summary>Says another id in Hello than the one it was started with.</summary>
    public int? HelloId { get; init; }
}

/// <summary>Launches <see cref="FakeWorker"/>s, each with the options <see cref="Options"/> gives its launch number (1, 2, ...).</summary>
internal sealed class FakeWorkerLauncher(Func<int, FakeWorkerOptions> options, TimeProvider time) : IWorkerLauncher
{
    private readonly Channel<FakeWorker> _launched = Channel.CreateUnbounded<FakeWorker>();
    private readonly Channel<(FakeWorker Worker, FakeWorker.Frame2 Frame)> _infers = Channel.CreateUnbounded<(FakeWorker, FakeWorker.Frame2)>();
    private readonly List<DateTimeOffset> _launchTimes = [];
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public Func<int, FakeWorkerOptions> Options { get; } = options;

    public IWorkerHandle Launch(WorkerLaunch launch, Action<string> output)
    {
        var worker = new FakeWorker(launch, Options(Interlocked.Increment(ref _count)), _infers.Writer);
        lock (_launchTimes)
        {
            _launchTimes.Add(time.GetUtcNow());
        }

        _launched.Writer.TryWrite(worker);
        _ = Task.Run(worker.StartAsync);
        return worker.Handle;
    }

    /// <summary>The next worker launched (bounded wait: the supervisor launches by itself).</summary>
    public Task<FakeWorker> NextAsync() => _launched.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>The fake time of each launch, in order.</summary>
    public IReadOnlyList<DateTimeOffset> LaunchTimes
    {
        get
        {
            lock (_launchTimes)
            {
                return [.. _launchTimes];
            }
        }
    }

    /// <summary>The next Infer any worker received, and which worker.</summary>
    public Task<(FakeWorker Worker, FakeWorker.Frame2 Frame)> NextInferAsync() =>
        _infers.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

    /// <summary>Whether a worker was launched and not yet taken by <see cref="NextAsync"/>.</summary>
    public bool TryTake(out FakeWorker? worker) => _launched.Reader.TryRead(out worker);
}
