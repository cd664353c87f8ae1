using Sharpserve.Abstractions;

namespace Sharpserve.Core.Scheduling;

/// <summary>
/// One admitted request: what to run, when it expires, and where its answer goes. Completed exactly once, by
/// whichever comes first: an executor, the deadline sweep, or shutdown.
/// </summary>
public sealed class InferenceWorkItem
{
    private readonly TaskCompletionSource<InferResult> _completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);

    public InferenceWorkItem(long id, InferenceRequest request, long deadlineTimestamp, CancellationToken cancellation)
    {
        Id = id;
        Request = request;
        DeadlineTimestamp = deadlineTimestamp;
        Cancellation = cancellation;
    }

    public long Id { get; }

    public InferenceRequest Request { get; }

    /// <summary>A <see cref="TimeProvider.GetTimestamp"/> value after which the request has expired.</summary>
    public long DeadlineTimestamp { get; }

    /// <summary>Signalled when the client went away; the work is skipped if not yet started.</summary>
    public CancellationToken Cancellation { get; }

    public Task<InferResult> Completion => _completion.Task;

    public bool IsCompleted => _completion.Task.IsCompleted;

    /// <summary>Times this item was handed to a worker process; a crash allows one retry on a sibling.</summary>
    public int Attempts { get; set; }

    internal bool TryComplete(InferResult result) => _completion.TrySetResult(result);
}
