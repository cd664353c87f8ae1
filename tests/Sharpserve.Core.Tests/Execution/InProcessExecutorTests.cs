using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Execution;

public sealed class InProcessExecutorTests
{
    [Fact]
    public async Task WarmedUp_CompletesOnlyAfterEveryThreadRanWarmup()
    {
        var model = new FakeModel();
        using var warmupGate = new ManualResetEventSlim(false);
        model.WarmupGate = warmupGate;
        await using var scheduler = new InferenceScheduler(new SchedulerOptions());
        await using var executor = new InProcessExecutor(model, scheduler, threadCount: 3);

        executor.Start();
        Assert.False(executor.IsWarm);
        Assert.False(executor.WarmedUp.IsCompleted);
        warmupGate.Set();
        await executor.WarmedUp;

        Assert.True(executor.IsWarm);
        Assert.Equal(3, executor.WarmCount);
    }

    [Fact]
    public async Task Stop_OfAnExecutorNeverStarted_CompletesAtOnce()
    {
        // A server that fails before starting its executors (e.g. the port is taken) still disposes them.
        await using var scheduler = new InferenceScheduler(new SchedulerOptions());
        var executor = new InProcessExecutor(new FakeModel(), scheduler, threadCount: 2);

        Task stop = executor.StopAsync();

        Assert.True(stop.IsCompleted);
        await executor.DisposeAsync();
    }

    [Fact]
    public async Task FailingWarmup_FaultsWarmedUp()
    {
        var model = new BrokenWarmupModel();
        await using var scheduler = new InferenceScheduler(new SchedulerOptions());
        await using var executor = new InProcessExecutor(model, scheduler, threadCount: 2);

        executor.Start();

        await Assert.ThrowsAsync<InvalidOperationException>(() => executor.WarmedUp);
        Assert.False(executor.IsWarm);
    }

    private sealed class BrokenWarmupModel : Sharpserve.Abstractions.IModel
    {
        private readonly FakeModel _inner = new();

        public Sharpserve.Abstractions.ModelMetadata Metadata => _inner.Metadata;

        public IReadOnlyList<Sharpserve.Abstractions.InferenceRequest> WarmupRequests { get; } =
            [new([], Sharpserve.Abstractions.InferenceParameters.Default)];

        public long MappedBytes => 0;

        public Sharpserve.Abstractions.IModelSession CreateSession() => _inner.CreateSession();

        public void Dispose()
        {
        }
    }
}
