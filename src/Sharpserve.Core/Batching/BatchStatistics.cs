namespace Sharpserve.Core.Batching;

/// <summary>
/// What a batching executor observed: requests per model call, and how long each request waited between admission
/// and its model call. Recorded once per batch (the sizes) and once per request of a batch (the waits); a model
/// without batching records nothing, so its per-request path is unchanged.
/// </summary>
public sealed class BatchStatistics
{
    /// <summary>Requests per model call: powers of two up to the largest batch an operator would set.</summary>
    public static readonly double[] SizeBounds = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

    /// <summary>Seconds in the queue: from 50 µs (a request an idle executor takes at once) to 10 s.</summary>
    public static readonly double[] QueueTimeBounds = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public FixedHistogram BatchSizes { get; } = new(SizeBounds);

    public FixedHistogram QueueSeconds { get; } = new(QueueTimeBounds, sumScale: 1e6);

    /// <summary>Mean requests per model call so far; 0 before the first.</summary>
    public double MeanBatchSize => BatchSizes.Count is var calls and > 0 ? BatchSizes.Sum / calls : 0;
}
