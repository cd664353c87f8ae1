namespace Sharpserve.Core.Execution;

/// <summary>
/// Counts rounds of repeated warm-up. Warm-up is repeated so each code path is compiled, and called often enough
/// to be recompiled by the tiered JIT, before the first client; but when the model's own predict dominates a round,
/// more rounds only delay readiness: the serving path around it was compiled by the first few. So: at least
/// <see cref="MinRounds"/>, then more while a round stays under <see cref="SlowRound"/> and the total under
/// <see cref="Budget"/>, up to the caller's maximum. A fast model (fastText, ~1 µs a predict) runs every round;
/// a large ONNX model (tens of ms a predict) stops after two.
/// </summary>
/// <example><code>for (var rounds = new WarmupBudget(20); rounds.Next();) { ... }</code></example>
public struct WarmupBudget(int maxRounds, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    public const int MinRounds = 2;

    public static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(300);

    public static readonly TimeSpan SlowRound = TimeSpan.FromMilliseconds(10);

    private readonly long _started = (time ?? TimeProvider.System).GetTimestamp();
    private long _roundStarted;

    /// <summary>Rounds started so far.</summary>
    public int Rounds { get; private set; }

    /// <summary>Ends the previous round, if any, and says whether to run another (starting it).</summary>
    public bool Next()
    {
        long now = _time.GetTimestamp();
        bool more = Rounds < maxRounds &&
            (Rounds < MinRounds ||
             (_time.GetElapsedTime(_started, now) < Budget && _time.GetElapsedTime(_roundStarted, now) < SlowRound));
        if (more)
        {
            Rounds++;
            _roundStarted = now;
        }

        return more;
    }
}
