using System.Buffers;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;

namespace Sharpserve.Worker;

/// <summary>
/// A worker process's serving side: Core's scheduler and executor (the same ones thread mode runs) behind a frame
/// connection to the front. Infer frames are submitted to the scheduler with this host as their callback; each
/// answer goes back as a Result or Error frame from the thread that produced it. Pings are answered by the
/// connection's read loop. The front owns deadlines and queue limits; the worker's queue only absorbs what the front
/// pipelines (at most MaxInFlightPerWorker). With one executor thread (the default) the prediction runs on the read
/// loop itself (InProcessExecutor's runOnCaller), which saves two thread hand-offs a request; a Pong then waits for
/// the running predict, which the front's heartbeat allows for (docs/worker-protocol.md).
/// </summary>
internal sealed class WorkerHost : IFrameHandler, IInferenceCallback
{
    /// <summary>The worker's own queue: far above what the front sends at once (32), so it never refuses.</summary>
    private static readonly SchedulerOptions s_schedulerOptions = new() { QueueCapacity = 4096, RequestTimeout = TimeSpan.FromDays(1) };

    private readonly InferenceScheduler _scheduler = new(s_schedulerOptions);
    private readonly TaskCompletionSource _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IModel _model = null!;
    private InProcessExecutor _executor = null!;
    private FrameConnection _connection = null!;
    private volatile bool _ready;
    private volatile bool _shuttingDown;

    /// <summary>
    /// Takes the loaded model and warms it: the executor's sessions run its warm-up requests, and the frame codec
    /// carries each through Infer decode and Result encode, so the first request from the front meets compiled code.
    /// </summary>
    public async Task WarmUpAsync(IModel model, int threads)
    {
        _model = model;
        _executor = new InProcessExecutor(model, _scheduler, threads, runOnCaller: threads == 1);
        _executor.Start();
        await _executor.WarmedUp;
        WarmUpCodec();
    }

    /// <summary>Serves over <paramref name="connection"/> (already started, Hello sent) until Shutdown or the front goes away.</summary>
    /// <returns>The exit code: 0 after Shutdown or when the front closed the connection, 1 when the front broke the protocol.</returns>
    public async Task<int> ServeAsync(FrameConnection connection, Action onReady)
    {
        _connection = connection;
        _ready = true;
        connection.TrySend(OutgoingFrame.Ready(_model.MappedBytes));
        onReady();
        Task<string> ended = connection.Completion;
        if (await Task.WhenAny(_shutdown.Task, ended) == _shutdown.Task)
        {
            // Shutdown: everything admitted is answered (the executor finishes its queue), then the answers are flushed.
            await StopAsync();
            connection.CompleteSending();
            await connection.SendingCompleted;
            return 0;
        }

        string reason = await ended;
        await StopAsync();
        if (reason.StartsWith("broke the protocol", StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"the front {reason}");
            return 1;
        }

        if (reason is FrameConnection.WriteFailed or FrameConnection.PeerStoppedReading)
        {
            // Nothing would reach the front again: exit, so the supervisor sees a crash, retries what was in flight
            // on a sibling and starts a replacement, instead of keeping a worker that is silently mute.
            Console.Error.WriteLine($"the connection to the front {reason}");
            return 70;
        }

        return 0; // the front is gone (or its end of the socket closed): nobody to serve
    }

    /// <summary>Stops the executor (it finishes what was admitted), if the model got that far.</summary>
    public Task StopAsync() => _executor?.StopAsync() ?? Task.CompletedTask;

    /// <summary>Binds the connection before it starts (its read loop calls back into this host).</summary>
    public void Attach(FrameConnection connection) => _connection = connection;

    public void OnFrame(in Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Infer:
                if (!_ready || _shuttingDown)
                {
                    throw new IpcProtocolException(_ready ? "an Infer frame after Shutdown" : "an Infer frame before Ready");
                }

                _scheduler.Submit(PayloadReader.ReadInfer(frame.Payload), this, frame.RequestId, _executor);
                break;
            case FrameType.Ping:
                _connection.TrySend(OutgoingFrame.Empty(FrameType.Pong, frame.RequestId));
                break;
            case FrameType.Drain:
                break; // reserved: the front stops sending instead (docs/worker-protocol.md)
            case FrameType.Shutdown:
                _shuttingDown = true;
                _shutdown.TrySetResult();
                break;
            default:
                throw new IpcProtocolException($"unexpected {frame.Type} frame from the front");
        }
    }

    public void OnRefused(in OutgoingFrame frame, IpcProtocolException reason)
    {
        if (frame.Type == FrameType.Result)
        {
            // Over the frame limit: an Error frame takes its place and the worker goes on.
            long size = FrameWriter.ResultPayloadSize(frame.Response!);
            _connection.TrySend(OutgoingFrame.Failure(frame.RequestId, new InferError(InferErrorKind.BackendFailed,
                $"the model's outputs ({size >> 20} MiB) are more than a worker process can send back ({Frame.MaxPayloadSize >> 20} MiB): ask for fewer outputs ('outputs') or send a smaller batch")));
        }
    }

    public void Completed(InferenceWorkItem item, InferResult result)
    {
        OutgoingFrame answer = result.IsSuccess
            ? OutgoingFrame.Result(item.Tag, result.Response!)
            : OutgoingFrame.Failure(item.Tag, result.Error!);
        _connection.TrySend(answer);
    }

    private void WarmUpCodec()
    {
        // The model's real answers, so the Result encoding of its output types is what gets compiled.
        var answers = new List<(InferenceRequest Request, InferenceResponse Response)>();
        using (IModelSession session = _model.CreateSession())
        {
            foreach (InferenceRequest request in _model.WarmupRequests)
            {
                if (session.Infer(request) is { IsSuccess: true, Response: { } response })
                {
                    answers.Add((request, response));
                }
            }
        }

        var buffer = new ArrayBufferWriter<byte>();
        for (var rounds = new WarmupBudget(20); rounds.Next();)
        {
            foreach ((InferenceRequest request, InferenceResponse response) in answers)
            {
                buffer.ResetWrittenCount();
                FrameWriter.WriteInfer(buffer, 1, request);
                var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                FrameReader.TryRead(ref sequence, out Frame frame);
                PayloadReader.ReadInfer(frame.Payload);
                buffer.ResetWrittenCount();
                FrameWriter.WriteResult(buffer, 1, response);
                sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                FrameReader.TryRead(ref sequence, out frame);
                PayloadReader.ReadResult(frame.Payload);
            }
        }
    }
}
