using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Ipc;

namespace Sharpserve.Worker;

/// <summary>
/// A worker's serving loop. The I/O loop decodes frames and answers Pings itself, so a busy or stuck model never
/// silences the heartbeat; Infer requests go straight to the executor threads, which write answers to one writer
/// loop that drains everything ready and flushes once. Per request that is two hand-offs (I/O → executor →
/// writer) and no per-request task or timer: the front owns deadlines and queue limits.
/// </summary>
internal sealed class WorkerLoop
{
    private readonly IModel _model;
    private readonly PipeWriter _writer;
    private readonly Thread[] _threads;
    private readonly Channel<Incoming> _work = Channel.CreateUnbounded<Incoming>(new UnboundedChannelOptions { SingleWriter = true });
    private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _warm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _inlineLock = new();
    private IModelSession? _inlineSession;
    private int _warmCount;
    private int _running;
    private int _inFlight;
    private volatile bool _silent;

    public WorkerLoop(IModel model, int threads, PipeWriter writer)
    {
        _model = model;
        _writer = writer;
        _threads = new Thread[threads];
        for (int i = 0; i < threads; i++)
        {
            _threads[i] = new Thread(RunExecutor) { IsBackground = true, Name = $"sharpserve-worker-executor-{i}" };
        }
    }

    /// <summary>
    /// Starts the executor threads; completes when each has run the model's warm-up through the frame codec.
    /// With one thread per worker (the default) there are no executor threads: the I/O loop predicts inline,
    /// which saves two thread hand-offs per request (measured: worth it for microsecond models, where the
    /// hand-offs cost more than the predict). Heartbeats then wait for a running predict, which only matters
    /// past --timeout, when the worker is replaced anyway.
    /// </summary>
    public Task WarmUpAsync()
    {
        if (_threads.Length == 1)
        {
            _inlineSession = _model.CreateSession();
            WarmUp(_inlineSession);
            _stopped.TrySetResult();
            return Task.CompletedTask;
        }

        _running = _threads.Length;
        foreach (Thread thread in _threads)
        {
            thread.Start();
        }

        return _warm.Task;
    }

    public async Task<int> RunAsync(PipeReader reader)
    {
        Task writing = WriteLoopAsync();
        _ = writing.ContinueWith(
            static t =>
            {
                // Nothing would answer the front again: exit, so the supervisor sees a crash, retries what was in
                // flight on a sibling and starts a replacement, instead of a worker that is silently mute.
                Console.Error.WriteLine($"the writer to the front failed: {t.Exception!.GetBaseException()}");
                Environment.Exit(70);
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            await ReadLoopAsync(reader);
        }
        catch (IpcProtocolException ex)
        {
            Console.Error.WriteLine($"protocol error from the front: {ex.Message}");
            return 1;
        }
        catch (IOException)
        {
            return 0; // the front closed the socket: it is gone, so stop
        }

        // Shutdown: finish what is in flight, flush the answers, exit 0.
        SpinWait.SpinUntil(() => Volatile.Read(ref _inFlight) == 0, TimeSpan.FromSeconds(60));
        _work.Writer.TryComplete();
        await _stopped.Task;
        _inlineSession?.Dispose();
        _outgoing.Writer.TryComplete();
        await writing;
        return 0;
    }

    private void RunExecutor()
    {
        IModelSession? session = null;
        try
        {
            session = _model.CreateSession();
            WarmUp(session);
            if (Interlocked.Increment(ref _warmCount) == _threads.Length)
            {
                _warm.TrySetResult();
            }

            ChannelReader<Incoming> work = _work.Reader;
            while (true)
            {
                if (!work.TryRead(out Incoming incoming))
                {
                    // Idle: block this dedicated thread until work arrives or the loop shuts down.
                    if (!work.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                    {
                        return;
                    }

                    continue;
                }

                InferResult result = InferSafely(session, incoming.Request);
                _outgoing.Writer.TryWrite(new Outgoing(result.IsSuccess ? FrameType.Result : FrameType.Error, incoming.RequestId, result));
                Interlocked.Decrement(ref _inFlight);
            }
        }
        catch (Exception ex)
        {
            Console.Error.WriteLine($"executor failed: {ex}");
            _warm.TrySetException(ex);
        }
        finally
        {
            session?.Dispose();
            if (Interlocked.Decrement(ref _running) == 0)
            {
                _stopped.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Runs every warm-up request through Infer-frame decode, the model, and Result-frame encode: up to 20 rounds,
    /// fewer for a slow model (<see cref="WarmupBudget"/>).
    /// </summary>
    private void WarmUp(IModelSession session)
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var rounds = new WarmupBudget(20); rounds.Next();)
        {
            foreach (InferenceRequest request in _model.WarmupRequests)
            {
                buffer.ResetWrittenCount();
                FrameWriter.WriteInfer(buffer, 1, request);
                var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                FrameReader.TryRead(ref sequence, out Frame frame);
                InferResult result = session.Infer(PayloadReader.ReadInfer(frame.Payload));
                if (!result.IsSuccess)
                {
                    throw new InvalidOperationException($"warm-up failed: {result.Error!.Message}");
                }

                buffer.ResetWrittenCount();
                FrameWriter.WriteResult(buffer, 1, result.Response!);
                sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                FrameReader.TryRead(ref sequence, out frame);
                PayloadReader.ReadResult(frame.Payload);
            }
        }
    }

    private async Task ReadLoopAsync(PipeReader reader)
    {
        while (true)
        {
            ReadResult read = await reader.ReadAsync();
            ReadOnlySequence<byte> buffer = read.Buffer;
            bool shutdown = false;
            while (!shutdown && FrameReader.TryRead(ref buffer, out Frame frame))
            {
                shutdown = Handle(frame);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
            if (shutdown)
            {
                return;
            }

            if (read.IsCompleted)
            {
                throw new IOException("the front closed the connection");
            }
        }
    }

    /// <summary>Handles one frame; returns true on Shutdown.</summary>
    private bool Handle(in Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Infer:
                InferenceRequest request = PayloadReader.ReadInfer(frame.Payload);
                if (WorkerFaults.Find(request) is { } fault)
                {
                    InjectFault(fault, frame.RequestId, request);
                    return false;
                }

                Interlocked.Increment(ref _inFlight);
                Submit(new Incoming(frame.RequestId, request));
                return false;
            case FrameType.Ping:
                if (!_silent)
                {
                    _outgoing.Writer.TryWrite(new Outgoing(FrameType.Pong, frame.RequestId, default));
                }

                return false;
            case FrameType.Drain:
                return false;
            case FrameType.Shutdown:
                return true;
            default:
                throw new IpcProtocolException($"unexpected {frame.Type} frame from the front");
        }
    }

    private void InjectFault(string fault, ulong requestId, InferenceRequest request)
    {
        Console.Error.WriteLine($"test fault injected: {fault}");
        switch (fault)
        {
            case WorkerFaults.Crash:
                NativeMethods.Kill(Environment.ProcessId, NativeMethods.SigKill);
                break;
            case WorkerFaults.Silence:
                // Answers this request, then never a Ping again: idle and mute (Hang is the one that holds a request).
                _silent = true;
                Interlocked.Increment(ref _inFlight);
                Submit(new Incoming(requestId, request));
                break;
            case WorkerFaults.Slow:
                Interlocked.Increment(ref _inFlight);
                _ = SlowAsync(requestId, request);
                break;
            case WorkerFaults.Grow:
                WorkerFaults.Leak();
                Interlocked.Increment(ref _inFlight);
                Submit(new Incoming(requestId, request));
                break;
        }

        // Hang and Silence: the request is never answered.
    }

    private async Task SlowAsync(ulong requestId, InferenceRequest request)
    {
        await WorkerFaults.WaitSlowAsync();
        Submit(new Incoming(requestId, request));
    }

    private void Submit(Incoming incoming)
    {
        if (_inlineSession is null)
        {
            _work.Writer.TryWrite(incoming);
            return;
        }

        InferResult result;
        lock (_inlineLock)
        {
            result = InferSafely(_inlineSession, incoming.Request);
        }

        _outgoing.Writer.TryWrite(new Outgoing(result.IsSuccess ? FrameType.Result : FrameType.Error, incoming.RequestId, result));
        Interlocked.Decrement(ref _inFlight);
    }

    private static InferResult InferSafely(IModelSession session, InferenceRequest request)
    {
        try
        {
            return session.Infer(request);
        }
        catch (Exception ex)
        {
            // The blast radius of a model exception is the request; the worker keeps serving.
            Console.Error.WriteLine($"the model threw on a request: {ex.GetType().Name}: {ex.Message}");
            return InferResult.Failure(InferErrorKind.BackendFailed, "the model failed on this request");
        }
    }

    /// <summary>One writer drains every ready frame, then flushes once: answers that finish together share a write.</summary>
    private async Task WriteLoopAsync()
    {
        ChannelReader<Outgoing> outgoing = _outgoing.Reader;
        while (await outgoing.WaitToReadAsync())
        {
            while (outgoing.TryRead(out Outgoing frame))
            {
                switch (frame.Type)
                {
                    case FrameType.Result:
                        try
                        {
                            FrameWriter.WriteResult(_writer, frame.RequestId, frame.Result.Response!);
                        }
                        catch (IpcProtocolException)
                        {
                            // Over the frame limit: refused before a byte of it was written, so an Error frame takes
                            // its place and the worker goes on.
                            long size = FrameWriter.ResultPayloadSize(frame.Result.Response!);
                            FrameWriter.WriteError(_writer, frame.RequestId, new InferError(InferErrorKind.BackendFailed,
                                $"the model's outputs ({size >> 20} MiB) are more than a worker process can send back ({Frame.MaxPayloadSize >> 20} MiB): ask for fewer outputs ('outputs') or send a smaller batch"));
                        }

                        break;
                    case FrameType.Error:
                        FrameWriter.WriteError(_writer, frame.RequestId, frame.Result.Error!);
                        break;
                    default:
                        FrameWriter.WriteEmpty(_writer, frame.Type, frame.RequestId);
                        break;
                }
            }

            FlushResult flushed = await _writer.FlushAsync();
            if (flushed.IsCompleted)
            {
                return;
            }
        }
    }

    private readonly record struct Incoming(ulong RequestId, InferenceRequest Request);

    private readonly record struct Outgoing(FrameType Type, ulong RequestId, InferResult Result);
}
