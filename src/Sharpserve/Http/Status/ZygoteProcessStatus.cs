namespace Sharpserve.Http.Status;

/// <summary>One Python zygote in /status: the process that loaded the model once and forks its workers.</summary>
public sealed record ZygoteProcessStatus
{
    /// <summary>The load of the code it holds: 0 at start, one more per reload tried (the workers forked from it have its generation unless a reload was refused).</summary>
    public required int Generation { get; init; }

    public required int Pid { get; init; }

    /// <summary>loading, serving, retiring (a reload replaced it; it exits once its workers are gone) or restarting.</summary>
    public required string State { get; init; }

    /// <summary>Its workers alive now.</summary>
    public required int Workers { get; init; }

    /// <summary>Times it died and was started again.</summary>
    public required int Restarts { get; init; }

    public required long RssBytes { get; init; }

    public required long PssBytes { get; init; }

    public required long PrivateDirtyBytes { get; init; }
}
