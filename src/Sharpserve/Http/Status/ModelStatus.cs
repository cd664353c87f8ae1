namespace Sharpserve.Http.Status;

/// <summary>
/// One served (name, version). <see cref="Mode"/> says which of the mode's own fields are present:
/// <c>"thread"</c> has <see cref="Threads"/>; <c>"process"</c> has <see cref="TargetWorkers"/>,
/// <see cref="Restarts"/>, <see cref="Image"/> and <see cref="Workers"/>. Absent fields are not written.
/// </summary>
internal sealed record ModelStatus
{
    public required string Name { get; init; }

    /// <summary>Absent from servers older than the model repository, which served version "1" only.</summary>
    public string Version { get; init; } = "1";

    public required bool Ready { get; init; }

    /// <summary>Requests waiting in the model's queue for an executor.</summary>
    public required int Queued { get; init; }

    /// <summary>Requests admitted and not yet answered (queued, or at an executor or worker).</summary>
    public required int Pending { get; init; }

    public required long Completed { get; init; }

    public required long ModelFileBytes { get; init; }

    /// <summary><c>"thread"</c> or <c>"process"</c>.</summary>
    public required string Mode { get; init; }

    public int? TargetWorkers { get; init; }

    /// <summary>Workers lost unexpectedly and replaced since start.</summary>
    public int? Restarts { get; init; }

    /// <summary>The model image (or baked model) the workers map.</summary>
    public string? Image { get; init; }

    public IReadOnlyList<WorkerProcessStatus>? Workers { get; init; }

    /// <summary>A Python model's zygotes (docs/python-backend.md): the one serving, and any retiring after a reload.</summary>
    public IReadOnlyList<ZygoteProcessStatus>? Zygotes { get; init; }

    /// <summary>Executor threads, in thread mode.</summary>
    public int? Threads { get; init; }

    /// <summary>Dynamic batching, when the model batches (max batch size above 1); absent otherwise.</summary>
    public BatchingStatus? Batching { get; init; }
}
