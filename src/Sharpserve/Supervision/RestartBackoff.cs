namespace Sharpserve.Supervision;

/// <summary>
/// Spaces restarts out after unexpected losses: 100 ms after the first, doubling to at most 10 s; a worker turning
/// Ready resets it. Five failures in a row before any worker was Ready mean the workers cannot start at all.
/// </summary>
internal sealed class RestartBackoff(TimeProvider time)
{
    public const int GiveUpAfter = 5;

    private long _nextSpawnTimestamp;

    public int ConsecutiveFailures { get; private set; }

    /// <summary>Whether a worker may be started now.</summary>
    public bool AllowsSpawn => time.GetTimestamp() >= _nextSpawnTimestamp;

    /// <summary>Counts an unexpected loss; returns the delay before the next start, in milliseconds.</summary>
    public double Failed()
    {
        ConsecutiveFailures++;
        double milliseconds = Math.Min(10_000, 100 * Math.Pow(2, Math.Min(ConsecutiveFailures - 1, 10)));
        _nextSpawnTimestamp = time.GetTimestamp() + (long)(milliseconds / 1000 * time.TimestampFrequency);
        return milliseconds;
    }

    public void Succeeded() => ConsecutiveFailures = 0;
}
