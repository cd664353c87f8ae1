namespace Sharpserve.Http.Status;

/// <summary>A batching model's settings and what its executor observed, in /status.</summary>
public sealed record BatchingStatus
{
    public required int MaxBatchSize { get; init; }

    public required double MaxQueueDelaySeconds { get; init; }

    public required IReadOnlyList<int> PreferredBatchSizes { get; init; }

    /// <summary>Model calls made for batches so far (a batch of one included).</summary>
    public required long Batches { get; init; }

    /// <summary>Requests per model call, on average so far; 0 before the first.</summary>
    public required double MeanBatchSize { get; init; }
}
