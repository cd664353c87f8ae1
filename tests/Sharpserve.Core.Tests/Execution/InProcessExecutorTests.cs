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

    [Fact]
    public async Task RunOnCaller_PredictsOnTheSubmittingThread_AndAnswersThroughTheCallback()
    {
        await using var scheduler = new InferenceScheduler(new SchedulerOptions());
        await using var executor = new InProcessExecutor(new FakeModel(), scheduler, threadCount: 1, runOnCaller: true);
        var callback = new RecordingCallback();

        executor.Start(); // warms on this thread: no executor thread exists
        Assert.True(executor.WarmedUp.IsCompletedSuccessfully);
        scheduler.Submit(Request("bonjour"), callback, tag: 42, executor);

        // Answered before Submit returned, on this thread, with the tag given.
        (ulong tag, Sharpserve.Abstractions.InferResult result, int thread) = Assert.Single(callback.Answers);
        Assert.Equal(42UL, tag);
        Assert.True(result.IsSuccess);
        Assert.Equal(Environment.CurrentManagedThreadId, thread);
        Assert.Equal(0, scheduler.PendingCount);
        Assert.Equal(1, executor.CompletedCount);
    }

    [Fact]
    public async Task DedicatedThreads_NeverTakeAnItemOnTheSubmittingThread()
    {
        await using var scheduler = new InferenceScheduler(new SchedulerOptions());
        await using var executor = new InProcessExecutor(new FakeModel(), scheduler, threadCount: 2);
        executor.Start();
        await executor.WarmedUp;
        var callback = new RecordingCallback();

        scheduler.Submit(Request("hallo"), callback, tag: 1, executor);
        await callback.First.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotEqual(Environment.CurrentManagedThreadId, Assert.Single(callback.Answers).Thread);
    }

    private static Sharpserve.Abstractions.InferenceRequest Request(string text) =>
        new([Sharpserve.Abstractions.Tensor.FromBytes("text", [1], [System.Text.Encoding.UTF8.GetBytes(text)])], Sharpserve.Abstractions.InferenceParameters.Default);

    private sealed class RecordingCallback : IInferenceCallback
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<(ulong Tag, Sharpserve.Abstractions.InferResult Result, int Thread)> _answers = [];

        public Task First => _first.Task;

        public IReadOnlyList<(ulong Tag, Sharpserve.Abstractions.InferResult Result, int Thread)> Answers
        {
            get
            {
                lock (_answers)
                {
                    return [.. _answers];
                }
            }
        }

        public void Completed(InferenceWorkItem item, Sharpserve.Abstractions.InferResult result)
        {
            lock (_answers)
            {
                _answers.Add((item.Tag, result, Environment.CurrentManagedThreadId));
            }

            _first.TrySetResult();
        }
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
