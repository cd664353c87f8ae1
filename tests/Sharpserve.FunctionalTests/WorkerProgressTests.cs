using Sharpserve.Supervision;

namespace Sharpserve.FunctionalTests;

/// <summary>The front's judgement of a worker's liveness, on explicit timestamps (ticks; the timeout is 100).</summary>
public sealed class WorkerProgressTests
{
    private const long Timeout = 100;

    [Fact]
    public void IsSilent_OnlyWhenAPingWentOutAndNothingCameBack_ForTheTimeout()
    {
        var progress = new WorkerProgress();
        progress.Heard(now: 1, answer: false);
        Assert.False(progress.IsSilent(now: 500, Timeout)); // no Ping sent: the front was busy, not the worker

        progress.Flushed(now: 510, highestRequestId: 0, ping: true);
        Assert.False(progress.IsSilent(now: 600, Timeout));
        Assert.True(progress.IsSilent(now: 611, Timeout));

        progress.Heard(now: 612, answer: false); // any bytes, e.g. the middle of a large frame
        Assert.False(progress.IsSilent(now: 700, Timeout));
    }

    [Fact]
    public void IsStuck_NotWhileItsAnswerIsArriving_NorBeforeItWasSent()
    {
        var progress = new WorkerProgress();
        Assert.False(progress.IsStuck(now: 500, Timeout, oldestId: 1, oldestSent: 0)); // not flushed yet

        progress.Flushed(now: 10, highestRequestId: 2, ping: false);
        progress.Heard(now: 450, answer: true);
        Assert.False(progress.IsStuck(now: 500, Timeout, oldestId: 1, oldestSent: 0));
        Assert.True(progress.IsStuck(now: 551, Timeout, oldestId: 1, oldestSent: 0));
    }

    [Fact]
    public void IsStuck_WhenOvertakenForTheTimeout_EvenWhileOtherAnswersArrive()
    {
        var progress = new WorkerProgress();
        progress.Flushed(now: 0, highestRequestId: 9, ping: false);
        progress.Answered(5);
        for (long now = 150; now <= 250; now += 25)
        {
            progress.Heard(now, answer: true);
            Assert.False(progress.IsStuck(now, Timeout, oldestId: 3, oldestSent: 0));
        }

        progress.Heard(now: 260, answer: true);
        Assert.True(progress.IsStuck(now: 260, Timeout, oldestId: 3, oldestSent: 0));
    }
}
