using Microsoft.Extensions.Time.Testing;
using Sharpserve.Core.Execution;

namespace Sharpserve.Core.Tests.Execution;

public sealed class WarmupBudgetTests
{
    /// <summary>Runs rounds that each take <paramref name="roundTime"/> on a fake clock; returns how many ran.</summary>
    private static int Run(int maxRounds, TimeSpan roundTime)
    {
        var time = new FakeTimeProvider();
        var rounds = new WarmupBudget(maxRounds, time);
        while (rounds.Next())
        {
            time.Advance(roundTime);
        }

        return rounds.Rounds;
    }

    [Fact]
    public void FastRounds_RunUpToTheMaximum() =>
        Assert.Equal(40, Run(40, TimeSpan.FromMilliseconds(1)));

    [Fact]
    public void SlowRounds_StopAfterTheMinimum() =>
        Assert.Equal(WarmupBudget.MinRounds, Run(40, TimeSpan.FromMilliseconds(30)));

    [Fact]
    public void FastRounds_StopWhenTheTotalBudgetIsSpent()
    {
        // 9 ms rounds are each under SlowRound, but 34 of them pass the 300 ms budget.
        int rounds = Run(1000, TimeSpan.FromMilliseconds(9));

        Assert.Equal((int)Math.Ceiling(WarmupBudget.Budget.TotalMilliseconds / 9), rounds);
    }

    [Fact]
    public void TheMaximum_WinsOverTheMinimum() =>
        Assert.Equal(1, Run(1, TimeSpan.FromSeconds(1)));
}
