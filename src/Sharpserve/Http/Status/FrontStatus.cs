namespace Sharpserve.Http.Status;

/// <summary>The front process (Kestrel, queues, supervisor; in thread mode also the executors) and its memory.</summary>
internal sealed record FrontStatus
{
    public required int Pid { get; init; }

    /// <summary>smaps_rollup's Anonymous: heap and other non-file pages.</summary>
    public required long AnonymousBytes { get; init; }

    /// <summary>Resident pages of the front's mappings of every served model's files (<c>ModelMappings</c>).</summary>
    public required long MappedModelBytes { get; init; }

    public required long PssBytes { get; init; }

    /// <summary>smaps_rollup's Private_Dirty: pages this process alone has written. Absent from older servers.</summary>
    public long? PrivateDirtyBytes { get; init; }
}
