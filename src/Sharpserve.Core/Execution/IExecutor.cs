using Sharpserve.Core.Scheduling;

namespace Sharpserve.Core.Execution;

/// <summary>
/// Runs the requests of one model's scheduler: threads in this process (<see cref="InProcessExecutor"/>) or
/// supervised worker processes (process mode). What else a host may ask of an executor (status, reload, scale) are
/// interfaces of their own, so no caller needs to know the concrete type.
/// </summary>
public interface IExecutor : IAsyncDisposable
{
    /// <summary>"thread" or "process", as /status and /metrics say it.</summary>
    string Mode { get; }

    /// <summary>Completes when the executor has run its warm-up; faults when warm-up failed.</summary>
    Task WarmedUp { get; }

    /// <summary>True while the executor can serve (warm, and for process mode at least one Ready worker).</summary>
    bool IsWarm { get; }

    /// <summary>Requests run to completion (warm-up excluded).</summary>
    long CompletedCount { get; }

    void Start();

    /// <summary>
    /// Takes an admitted item at once, from the submitting thread, when the executor has room right now (nothing is
    /// queued: the scheduler asks only then, so order is kept); false sends it through the queue. The default never
    /// takes one.
    /// </summary>
    bool TryAccept(InferenceWorkItem item) => false;

    /// <summary>Closes the scheduler and finishes what was already admitted.</summary>
    Task StopAsync();
}
