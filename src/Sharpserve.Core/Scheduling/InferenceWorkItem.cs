using Sharpserve.Abstractions;

namespace Sharpserve.Core.Scheduling;

/// <summary>
/// One admitted request: what to run, when it expires, and where its answer goes (a task an HTTP request awaits, or
/// an <see cref="IInferenceCallback"/>). Completed exactly once, by whichever comes first: an executor, the
/// deadline sweep, or shutdown.
/// </summary>
public sealed class InferenceWorkItem
{
    private readonly TaskCompletionSource<InferResult>? _completion;
    private readonly IInferenceCallback? _callback;
    private int _completed;

    public InferenceWorkItem(long id, InferenceRequest request, long deadlineTimestamp, CancellationToken cancellation)
    {
        Id = id;
        Request = request;
        DeadlineTimestamp = deadlineTimestamp;
        Cancellation = cancellation;
        _completion = new TaskCompletionSource<InferResult>(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public InferenceWorkItem(long id, InferenceRequest request, long deadlineTimestamp, IInferenceCallback callback, ulong tag)
    {
        ArgumentNullException.ThrowIfNull(callback);
        Id = id;
        Request = request;
        DeadlineTimestamp = deadlineTimestamp;
        _callback = callback;
        Tag = tag;
    }

    public long Id { get; }

    public InferenceRequest Request { get; }

    /// <summary>A <see cref="TimeProvider.GetTimestamp"/> value after which the request has expired.</summary>
    public long DeadlineTimestamp { get; }

    /// <summary>Signalled when the client went away; the work is skipped if not yet started.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>The callback's own reference for this item (a worker's request id); 0 for task items.</summary>
    public ulong Tag { get; }

    /// <summary>The answer, for items submitted with <see cref="InferenceScheduler.SubmitAsync"/>.</summary>
    public Task<InferResult> Completion =>
        _completion?.Task ?? throw new InvalidOperationException("an item answered through a callback has no task");

    public bool IsCompleted => Volatile.Read(ref _completed) == 1;

    internal bool TryComplete(InferResult result)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        if (_callback is not null)
        {
            _callback.Completed(this, result);
        }
        else
        {
            _completion!.TrySetResult(result);
        }

        return true;
    }
}
