namespace Sharpserve.Core.Batching;

/// <summary>
/// How one model's executor groups queued requests into one model call (dynamic batching), immutable. Off unless
/// <see cref="MaxBatchSize"/> is above 1; then an executor thread that takes a request waits at most
/// <see cref="MaxQueueDelay"/> (counted from the request's admission) for compatible requests to join it.
/// </summary>
public sealed record BatchingOptions
{
    /// <summary>No batching: every request is its own model call.</summary>
    public static readonly BatchingOptions Off = new();

    /// <summary>Requests per model call at most; 1 (the default) turns batching off.</summary>
    public int MaxBatchSize { get; init; } = 1;

    /// <summary>How long the first request of a batch may wait for company; latency traded for throughput.</summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Batch sizes sent at once, without waiting out the delay, when the batch reaches one and nothing else is queued
    /// (the largest is sent at once even then); ascending, each from 1 to <see cref="MaxBatchSize"/>. Empty: only
    /// <see cref="MaxBatchSize"/> and the delay close a batch.
    /// </summary>
    public IReadOnlyList<int> PreferredBatchSizes { get; init; } = [];

    public bool IsEnabled => MaxBatchSize > 1;

    /// <summary>Whether <paramref name="size"/> is one of the preferred batch sizes.</summary>
    public bool IsPreferred(int size)
    {
        for (int i = 0; i < PreferredBatchSizes.Count; i++)
        {
            if (PreferredBatchSizes[i] == size)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The size past which a batch is never grown: the largest preferred size, else the maximum.</summary>
    public int ClosingSize => PreferredBatchSizes.Count > 0 ? PreferredBatchSizes[^1] : MaxBatchSize;
}
