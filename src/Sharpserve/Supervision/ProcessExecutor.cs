using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// Process mode's executor: sends each admitted request to the least-loaded Ready worker over its connection,
/// pipelined, keeps what each worker holds, completes requests as answers arrive, and retries a lost worker's
/// requests once on a sibling. The workers themselves are kept by a <see cref="WorkerSupervisor"/>. A request meets
/// a worker at once from the submitting thread when one has room (<see cref="TryAccept"/>); otherwise it waits in
/// the model's queue, where its deadline and the queue's bounds apply, for the one dispatcher loop.
/// </summary>
public sealed class ProcessExecutor : IExecutor, IReloadable, IScalable, IStagedStart, IWorkerStatus, IWorkerAnswers
{
    private readonly WorkerPoolOptions _options;
    private readonly InferenceScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly WorkerSupervisor _supervisor;
    private readonly AsyncSignal _changed = new();
    private readonly Channel<Retry> _retries = Channel.CreateUnbounded<Retry>();
    private long _completed;
    private long _nextRequestId;
    private int _pickCursor;
    private volatile bool _stopping;
    private Task _dispatching = Task.CompletedTask;
    private Task? _stopped;

    public ProcessExecutor(
        string modelPath,
        string modelName,
        WorkerPoolOptions options,
        InferenceScheduler scheduler,
        ILogger logger,
        TimeProvider? time = null,
        bool startTogether = false)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _scheduler = scheduler;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _supervisor = new WorkerSupervisor(
            modelPath, modelName, options, options.Launcher ?? new WorkerLauncher(), logger, _time, _changed, OnWorkerLost, startTogether);
    }

    public string Mode => "process";

    /// <summary>
    /// Completes when the first worker is Ready (DESIGN: a model is ready when one executor is warm), so readiness
    /// does not wait for every worker to load; the router only ever uses Ready workers, so no request meets a cold
    /// one. Faults when workers keep failing to start.
    /// </summary>
    public Task WarmedUp => _supervisor.WarmedUp;

    /// <summary>At least one worker is Ready.</summary>
    public bool IsWarm => Array.Exists(_supervisor.Workers, static w => w.State == WorkerState.Ready);

    public long CompletedCount => Interlocked.Read(ref _completed);

    public int Restarts => _supervisor.Restarts;

    public int TargetWorkers => _supervisor.TargetWorkers;

    public string ModelPath => _supervisor.ModelPath;

    public void Start()
    {
        _supervisor.Start(this);
        _dispatching = DispatchLoopAsync();
    }

    public void StartRemaining() => _supervisor.StartRemaining();

    public void Reload(string modelPath) => _supervisor.Reload(modelPath);

    public void Scale(int delta) => _supervisor.Scale(delta);

    public IReadOnlyList<WorkerStatus> GetStatus()
    {
        Worker[] workers = _supervisor.Workers;
        var rows = new List<WorkerStatus>(workers.Length);
        foreach (Worker worker in workers)
        {
            ProcessMemory memory = ProcessMemory.Read(worker.Pid);
            rows.Add(new WorkerStatus(
                worker.Id, worker.Pid, worker.State, worker.Generation, worker.Served, worker.InFlight.Count,
                memory.AnonymousBytes, ModelMappings.ResidentBytes(worker.Pid, worker.ModelFiles), memory.PssBytes,
                memory.PrivateDirtyBytes, WorkerMemoryBudget.Growth(memory, worker.MemoryAtReady), memory.SharedBytes));
        }

        return rows;
    }

    public IReadOnlyList<Python.ZygoteStatus> GetZygotes() => (_options.Launcher as Python.IZygoteStatus)?.Zygotes ?? [];

    /// <summary>The submitting thread's fast path: a Ready worker with room takes the item at once.</summary>
    public bool TryAccept(InferenceWorkItem item) => !_stopping && TrySend(item, attempt: 1);

    public Task StopAsync() => _stopped ??= StopCoreAsync();

    public async ValueTask DisposeAsync() => await StopAsync();

    void IWorkerAnswers.OnAnswer(Worker worker, in Frame frame)
    {
        // Parsed before it is taken off the worker: a malformed answer breaks the connection, and the request is
        // then retried on a sibling with the worker's others.
        InferResult result = frame.Type == FrameType.Result
            ? InferResult.Success(PayloadReader.ReadResult(frame.Payload))
            : InferResult.Failure(PayloadReader.ReadError(frame.Payload));
        if (!worker.InFlight.TryRemove(frame.RequestId, out InFlightRequest request))
        {
            return; // e.g. answered after it was given up
        }

        _scheduler.Complete(request.Item, result);
        worker.Progress.Answered(frame.RequestId);
        long served = worker.CountServed();
        Interlocked.Increment(ref _completed);
        if (worker.MaxRequests > 0 && served == worker.MaxRequests)
        {
            // At once, not at the next heartbeat: the replacement starts now, and routing prefers fresh workers.
            _supervisor.Recycle(worker, $"served {served} requests (--max-requests)");
        }

        _changed.Set();
    }

    void IWorkerAnswers.OnRefused(Worker worker, in OutgoingFrame frame, IpcProtocolException reason)
    {
        // Over the frame limit (only with --max-body-size raised far above its default), refused before a byte was written.
        if (frame.Type == FrameType.Infer && worker.InFlight.TryRemove(frame.RequestId, out InFlightRequest refused))
        {
            long size = FrameWriter.InferPayloadSize(frame.Request!);
            _scheduler.Complete(refused.Item, InferResult.Failure(InferErrorKind.BadInput,
                $"the request's tensors ({size >> 20} MiB) are more than a worker process takes ({Frame.MaxPayloadSize >> 20} MiB): send a smaller batch"));
            _changed.Set();
        }
    }

    private async Task StopCoreAsync()
    {
        _stopping = true;
        _scheduler.Close();
        _changed.Set();
        if (await Task.WhenAny(_dispatching, Task.Delay(_options.GracefulTimeout, _time)) != _dispatching)
        {
            SupervisionLog.DrainTimedOut(_logger, _options.GracefulTimeout);
        }

        await _supervisor.StopAsync();
    }

    /// <summary>A lost worker's requests go back to the dispatcher, first in line, once each (inference is idempotent).</summary>
    private void OnWorkerLost(Worker worker)
    {
        foreach (ulong id in worker.InFlight.Ids)
        {
            if (!worker.InFlight.TryRemove(id, out InFlightRequest request))
            {
                continue;
            }

            if (request.Attempt >= 2)
            {
                _scheduler.Complete(request.Item, InferResult.Failure(InferErrorKind.WorkerCrashed, "the worker serving this request died, and so did its retry"));
            }
            else
            {
                _retries.Writer.TryWrite(new Retry(request.Item, request.Attempt + 1));
            }
        }
    }

    /// <summary>
    /// The one dispatcher: takes retries first, then the model's queue, and hands each item to the least-loaded
    /// Ready worker with room. While no worker has room the item waits here, still subject to its deadline.
    /// Ends when the queue is closed and every admitted request has been answered.
    /// </summary>
    private async Task DispatchLoopAsync()
    {
        ChannelReader<InferenceWorkItem> queue = _scheduler.Reader;
        while (true)
        {
            Retry next;
            if (_retries.Reader.TryRead(out Retry retry))
            {
                next = retry;
            }
            else if (queue.TryRead(out InferenceWorkItem? item))
            {
                next = new Retry(item, 1);
            }
            else
            {
                if (queue.Completion.IsCompleted)
                {
                    // The signal's task is taken before the check: an answer landing in between still wakes this loop
                    // (taken after, the last answer's signal was missed and only the 50 ms poll ended the drain).
                    Task changed = _changed.GetWaitTask();
                    if (InFlightCount() == 0 && !_retries.Reader.TryPeek(out _))
                    {
                        return;
                    }

                    await Task.WhenAny(_retries.Reader.WaitToReadAsync().AsTask(), changed, Task.Delay(TimeSpan.FromMilliseconds(50), _time));
                }
                else
                {
                    await Task.WhenAny(_retries.Reader.WaitToReadAsync().AsTask(), queue.WaitToReadAsync().AsTask());
                }

                continue;
            }

            await DispatchAsync(next);
        }
    }

    private async ValueTask DispatchAsync(Retry next)
    {
        while (!_scheduler.TrySkip(next.Item))
        {
            Task changed = _changed.GetWaitTask();
            if (TrySend(next.Item, next.Attempt))
            {
                return;
            }

            if (_supervisor.IsStopping && !Array.Exists(_supervisor.Workers, static w => w.State is WorkerState.Ready or WorkerState.Starting))
            {
                _scheduler.Complete(next.Item, InferResult.Failure(InferErrorKind.ShuttingDown, "the server is shutting down"));
                return;
            }

            // Wake on any change (an answer, a worker Ready or lost) or re-check the deadline every 100 ms.
            await Task.WhenAny(changed, Task.Delay(TimeSpan.FromMilliseconds(100), _time));
        }
    }

    /// <summary>Hands <paramref name="item"/> to the best worker with room; false when none has any.</summary>
    private bool TrySend(InferenceWorkItem item, int attempt)
    {
        while (PickWorker() is { } worker)
        {
            ulong id = (ulong)Interlocked.Increment(ref _nextRequestId);
            worker.InFlight.Add(id, new InFlightRequest(item, _time.GetTimestamp(), attempt));
            if (!worker.IsLost && worker.TrySend(OutgoingFrame.Infer(id, item.Request)))
            {
                return true;
            }

            if (!worker.InFlight.TryRemove(id, out _))
            {
                return true; // lost meanwhile: its sweep took the item and retries it
            }
        }

        return false;
    }

    /// <summary>
    /// The Ready worker with room and the fewest requests in flight, fresh workers before ones being replaced (so a
    /// worker past --max-requests stops taking work unless the others are full). The scan starts one worker further
    /// each time, so ties (an idle pool, sequential clients) rotate over the workers instead of always landing on
    /// the first: every worker gets warm traffic and the load spreads.
    /// </summary>
    private Worker? PickWorker()
    {
        Worker[] workers = _supervisor.Workers;
        int count = workers.Length;
        if (count == 0)
        {
            return null;
        }

        int start = (int)((uint)Interlocked.Increment(ref _pickCursor) % (uint)count);
        Worker? best = null;
        int bestRank = int.MaxValue;
        for (int i = 0; i < count; i++)
        {
            Worker worker = workers[(start + i) % count];
            if (worker.State != WorkerState.Ready || worker.Connection is null)
            {
                continue;
            }

            int load = worker.InFlight.Count;
            int rank = worker.Recycling ? load + _options.MaxInFlightPerWorker : load;
            if (load < _options.MaxInFlightPerWorker && rank < bestRank)
            {
                best = worker;
                bestRank = rank;
            }
        }

        return best;
    }

    private int InFlightCount()
    {
        int count = 0;
        foreach (Worker worker in _supervisor.Workers)
        {
            count += worker.InFlight.Count;
        }

        return count;
    }

    /// <summary>An item to send, and which attempt it is (1, or 2 for the retry after its worker was lost).</summary>
    private readonly record struct Retry(InferenceWorkItem Item, int Attempt);
}
