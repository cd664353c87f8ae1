namespace Sharpserve.Http.Status;

/// <summary>
/// One worker process of a process-mode model. Memory comes from the worker's <c>/proc/PID/smaps_rollup</c>, read
/// when the document is made; <see cref="MappedModelBytes"/> from its mappings of the model's own files.
/// </summary>
internal sealed record WorkerProcessStatus
{
    public required int Id { get; init; }

    public required int Pid { get; init; }

    /// <summary><c>"starting"</c>, <c>"ready"</c>, <c>"draining"</c> or <c>"stopped"</c>.</summary>
    public required string State { get; init; }

    /// <summary>Bumped by every reload: workers of an older generation are being replaced.</summary>
    public required int Generation { get; init; }

    /// <summary>Requests the worker answered.</summary>
    public required long Requests { get; init; }

    public required int InFlight { get; init; }

    /// <summary>Anonymous: heap and other non-file pages, including pages a forked worker shares with its parent.</summary>
    public required long AnonymousBytes { get; init; }

    public required long MappedModelBytes { get; init; }

    public required long PssBytes { get; init; }

    /// <summary>Private_Dirty: pages this worker alone has written. Absent from older servers.</summary>
    public long? PrivateDirtyBytes { get; init; }

    /// <summary>
    /// Private_Dirty gained since the worker was Ready (0 before): what <c>--max-worker-memory</c> counts. Absent
    /// from older servers.
    /// </summary>
    public long? PrivateDirtyGrowthBytes { get; init; }

    /// <summary>
    /// Shared_Clean + Shared_Dirty: resident pages the worker shares with another process; for a Python worker, what
    /// it still shares with its zygote (the frozen model). Absent from older servers.
    /// </summary>
    public long? SharedBytes { get; init; }
}
