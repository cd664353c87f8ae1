namespace Sharpserve.Core.Scheduling;

/// <summary>Limits of one model's scheduler. Validated once at start; immutable afterwards.</summary>
public sealed record SchedulerOptions
{
    /// <summary>Requests waiting for an executor; past this a request is refused at once with QueueFull.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>Time from admission to answer; past it the client gets DeadlineExceeded (504).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the one deadline sweep runs. Deadlines are enforced to within this period.</summary>
    public TimeSpan DeadlineSweepPeriod { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Returns the problems with these options, each naming the setting, or an empty list.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (QueueCapacity < 1)
        {
            problems.Add($"queue capacity must be at least 1, got {QueueCapacity} (set --queue-capacity)");
        }

        if (RequestTimeout <= TimeSpan.Zero)
        {
            problems.Add($"request timeout must be positive, got {RequestTimeout} (set --request-timeout, e.g. 30s)");
        }

        if (DeadlineSweepPeriod <= TimeSpan.Zero)
        {
            problems.Add("deadline sweep period must be positive");
        }

        return problems;
    }
}
