namespace Sharpserve.Core.Execution;

/// <summary>
/// Runs the requests of one model's scheduler: threads in this process (<see cref="InProcessExecutor"/>) or
/// supervised worker processes (process mode).
/// </summary>
public interface IExecutor : IAsyncDisposable
{
    /// <summary>Completes when the executor has run its warm-up; faults when warm-up failed.</summary>
    Task WarmedUp { get; }

    /// <summary>True while the executor can serve (warm, and for process mode at least one Ready worker).</summary>
    bool IsWarm { get; }

    /// <summary>Requests run to completion (warm-up excluded).</summary>
    long CompletedCount { get; }

    void Start();

    /// <summary>Closes the scheduler and finishes what was already admitted.</summary>
    Task StopAsync();
}
