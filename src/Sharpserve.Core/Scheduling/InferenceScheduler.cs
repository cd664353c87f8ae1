using System.Collections.Concurrent;
using System.Threading.Channels;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;

namespace Sharpserve.Core.Scheduling;

/// <summary>
/// The bounded queue in front of a model's executors. Admission never waits: a full queue is an immediate
/// <see cref="InferErrorKind.QueueFull"/>. One periodic sweep enforces every deadline, so no timer is created
/// per request.
/// </summary>
public sealed class InferenceScheduler : IAsyncDisposable
{
    private static readonly InferError s_queueFull =
        new(InferErrorKind.QueueFull, "the server is at capacity; retry later");

    private static readonly InferError s_deadlineExceeded =
        new(InferErrorKind.DeadlineExceeded, "the request was not answered within its deadline");

    private static readonly InferError s_shuttingDown =
        new(InferErrorKind.ShuttingDown, "the server is shutting down");

    private readonly Channel<InferenceWorkItem> _queue;
    private readonly ConcurrentDictionary<long, InferenceWorkItem> _pending = new();
    private readonly TimeProvider _time;
    private readonly long _timeoutTicks;
    private readonly ITimer _sweepTimer;
    private long _nextId;
    private volatile bool _closed;

    public InferenceScheduler(SchedulerOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        _timeoutTicks = (long)(options.RequestTimeout.TotalSeconds * _time.TimestampFrequency);
        _queue = Channel.CreateBounded<InferenceWorkItem>(new BoundedChannelOptions(options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _sweepTimer = _time.CreateTimer(
            static state => ((InferenceScheduler)state!).SweepExpired(),
            this,
            options.DeadlineSweepPeriod,
            options.DeadlineSweepPeriod);
    }

    public SchedulerOptions Options { get; }

    /// <summary>The clock of deadlines, and of a batching executor's delay (fake time in tests).</summary>
    public TimeProvider Time => _time;

    /// <summary>Requests admitted and not yet answered (queued or running).</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Requests waiting in the queue for an executor.</summary>
    public int QueuedCount => _queue.Reader.CanCount ? _queue.Reader.Count : 0;

    /// <summary>Where executors take admitted work from.</summary>
    public ChannelReader<InferenceWorkItem> Reader => _queue.Reader;

    /// <summary>
    /// Admits a request and returns its eventual result; fails at once with QueueFull when the queue is full and with
    /// ShuttingDown once the scheduler is closed. When nothing is queued, <paramref name="executor"/> may take the item
    /// at once (<see cref="IExecutor.TryAccept"/>) instead of through the queue.
    /// </summary>
    public Task<InferResult> SubmitAsync(InferenceRequest request, IExecutor? executor = null, CancellationToken cancellation = default)
    {
        if (_closed)
        {
            return Task.FromResult(InferResult.Failure(s_shuttingDown));
        }

        var item = new InferenceWorkItem(Interlocked.Increment(ref _nextId), request, _time.GetTimestamp() + _timeoutTicks, cancellation);
        Admit(item, executor);
        return item.Completion;
    }

    /// <summary>
    /// As <see cref="SubmitAsync"/>, with the answer (or the refusal) delivered to <paramref name="callback"/> with
    /// <paramref name="tag"/>, on the completing thread.
    /// </summary>
    public void Submit(InferenceRequest request, IInferenceCallback callback, ulong tag, IExecutor? executor = null)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var item = new InferenceWorkItem(Interlocked.Increment(ref _nextId), request, _time.GetTimestamp() + _timeoutTicks, callback, tag);
        if (_closed)
        {
            item.TryComplete(InferResult.Failure(s_shuttingDown));
            return;
        }

        Admit(item, executor);
    }

    private void Admit(InferenceWorkItem item, IExecutor? executor)
    {
        if (executor is not null && _queue.Reader.Count == 0 && executor.TryAccept(item))
        {
            // Fast path: nothing is waiting and the executor took the item directly, skipping the queue hand-off.
            // An item answered already (a worker's one executor runs it on this thread) never enters the pending
            // table; one still running does, for the deadline sweep. Completing removes it, so if the answer came
            // between the check and the insert, the second check removes it.
            if (!item.IsCompleted)
            {
                _pending[item.Id] = item;
                if (item.IsCompleted)
                {
                    _pending.TryRemove(item.Id, out _);
                }
            }

            return;
        }

        _pending[item.Id] = item;
        if (!_queue.Writer.TryWrite(item))
        {
            Complete(item, InferResult.Failure(_closed ? s_shuttingDown : s_queueFull));
        }
    }

    /// <summary>When <paramref name="item"/> was admitted, on <see cref="Time"/>: its deadline less the request timeout.</summary>
    public long AdmittedTimestamp(InferenceWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.DeadlineTimestamp - _timeoutTicks;
    }

    /// <summary>Stops admitting requests. Queued requests are still run by the executors.</summary>
    public void Close()
    {
        _closed = true;
        _queue.Writer.TryComplete();
    }

    /// <summary>Answers an item (first answer wins) and forgets it.</summary>
    public void Complete(InferenceWorkItem item, InferResult result)
    {
        item.TryComplete(result);
        _pending.TryRemove(item.Id, out _);
    }

    /// <summary>True when the item expired or its client left; it is then answered and must not run.</summary>
    public bool TrySkip(InferenceWorkItem item)
    {
        if (item.IsCompleted)
        {
            _pending.TryRemove(item.Id, out _);
            return true;
        }

        if (_time.GetTimestamp() > item.DeadlineTimestamp)
        {
            Complete(item, InferResult.Failure(s_deadlineExceeded));
            return true;
        }

        if (item.Cancellation.IsCancellationRequested)
        {
            Complete(item, InferResult.Failure(InferErrorKind.ClientClosedRequest, "the client closed the request before it ran"));
            return true;
        }

        return false;
    }

    internal void SweepExpired()
    {
        long now = _time.GetTimestamp();
        foreach (KeyValuePair<long, InferenceWorkItem> entry in _pending)
        {
            if (now > entry.Value.DeadlineTimestamp)
            {
                Complete(entry.Value, InferResult.Failure(s_deadlineExceeded));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Close();
        await _sweepTimer.DisposeAsync();
        foreach (KeyValuePair<long, InferenceWorkItem> entry in _pending)
        {
            Complete(entry.Value, InferResult.Failure(s_shuttingDown));
        }
    }
}
