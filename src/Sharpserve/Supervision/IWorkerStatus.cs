namespace Sharpserve.Supervision;

/// <summary>What /status and /metrics show of an executor that runs worker processes.</summary>
public interface IWorkerStatus
{
    /// <summary>Workers lost unexpectedly (crashed, killed) since start.</summary>
    int Restarts { get; }

    int TargetWorkers { get; }

    /// <summary>One row per live worker: pid, state, requests, memory.</summary>
    IReadOnlyList<WorkerStatus> GetStatus();

    /// <summary>The zygotes that fork the workers (a Python model); empty otherwise.</summary>
    IReadOnlyList<Python.ZygoteStatus> GetZygotes() => [];
}
