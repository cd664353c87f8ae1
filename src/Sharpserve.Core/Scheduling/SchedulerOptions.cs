namespace Sharpserve.Core.Scheduling;

/// <summary>
/// Limits of one model's scheduler, immutable. The command line checks the ones a user sets (--queue-capacity,
/// --request-timeout) once, at start.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests waiting for an executor; past this a request is refused at once with QueueFull.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>Time from admission to answer; past it the client gets DeadlineExceeded (504).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the one deadline sweep runs. Deadlines are enforced to within this period.</summary>
    public TimeSpan DeadlineSweepPeriod { get; init; } = TimeSpan.FromMilliseconds(50);
}
