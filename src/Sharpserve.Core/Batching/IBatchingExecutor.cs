namespace Sharpserve.Core.Batching;

/// <summary>An executor that forms batches, for /status and /metrics: its settings and what it observed.</summary>
public interface IBatchingExecutor
{
    BatchingOptions Batching { get; }

    BatchStatistics BatchStatistics { get; }
}
