using Microsoft.Extensions.Time.Testing;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Execution;

/// <summary>
/// Dynamic batching in the executor threads. Batches close on size (a delay of an hour never runs out in a test) or
/// on a fake clock the test moves, so what forms a batch never depends on how fast this machine is.
/// </summary>
public sealed class InProcessExecutorBatchingTests : IAsyncLifetime
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);
    private readonly BatchRecordingModel _model = new();
    private readonly FakeTimeProvider _time = new();
    private InferenceScheduler _scheduler = null!;
    private InProcessExecutor _executor = null!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_executor is not null)
        {
            await _executor.DisposeAsync();
        }

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }
    }

    [Fact]
    public async Task FullBatches_OneCallEach_AndEveryRequestGetsItsOwnRow()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 4, MaxQueueDelay = TimeSpan.FromHours(1) }, threads: 2, fakeTime: false);

        Task<InferResult>[] answers = [.. Enumerable.Range(1, 8).Select(i => _scheduler.SubmitAsync(BatchRecordingModel.Request(i, -i)))];
        InferResult[] results = await Task.WhenAll(answers).WaitAsync(s_cap);

        for (int i = 0; i < results.Length; i++)
        {
            Assert.True(results[i].IsSuccess, results[i].Error?.Message);
            Tensor y = Assert.Single(results[i].Response!.Outputs);
            Assert.Equal([1, 2], y.Shape);
            Assert.Equal([2f * (i + 1), -2f * (i + 1)], y.Fp32Data!);
        }

        Assert.Equal([4, 4], _model.Calls.Select(c => c.Length));
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (float)i).Order(), _model.Calls.SelectMany(c => c).Order());
        Assert.Equal(2, _executor.BatchStatistics.BatchSizes.Count);
        Assert.Equal(4, _executor.BatchStatistics.MeanBatchSize);
        Assert.Equal(8, _executor.BatchStatistics.QueueSeconds.Count);
        Assert.Equal(8, _executor.CompletedCount);
    }

    [Fact]
    public async Task LoneRequest_RunsOnceTheDelayHasPassed()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(5) });

        Task<InferResult> answer = _scheduler.SubmitAsync(BatchRecordingModel.Request(3));
        await TakenAsync();
        Assert.False(answer.IsCompleted); // the fake clock has not moved: the batch is still open
        _time.Advance(TimeSpan.FromMilliseconds(5));

        InferResult result = await answer.WaitAsync(s_cap);
        Assert.True(result.IsSuccess);
        Assert.Equal([3f], Assert.Single(_model.Calls));
    }

    [Fact]
    public async Task PreferredSize_IsSentAtOnce_WhenNothingElseIsQueued()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromHours(1), PreferredBatchSizes = [2] }, fakeTime: false);

        Task<InferResult> first = _scheduler.SubmitAsync(BatchRecordingModel.Request(1));
        await TakenAsync();
        Task<InferResult> second = _scheduler.SubmitAsync(BatchRecordingModel.Request(2));

        await Task.WhenAll(first, second).WaitAsync(s_cap);
        Assert.Equal([1f, 2f], Assert.Single(_model.Calls));
    }

    [Fact]
    public async Task IncompatibleShapes_AreNeverInOneCall()
    {
        // Which requests share a call depends on timing here (a real 1 ms delay); that none mixes widths does not.
        await StartAsync(new BatchingOptions { MaxBatchSize = 4, MaxQueueDelay = TimeSpan.FromMilliseconds(1) }, fakeTime: false);

        // Widths 1 and 2 alternate: x of [1,1] and x of [1,2] cannot be concatenated along the first dimension.
        Task<InferResult>[] answers =
            [.. Enumerable.Range(0, 8).Select(i => _scheduler.SubmitAsync(BatchRecordingModel.Request(i % 2 == 0 ? [i] : [i, i])))];
        InferResult[] results = await Task.WhenAll(answers).WaitAsync(s_cap);

        for (int i = 0; i < results.Length; i++)
        {
            Assert.Equal(i % 2 == 0 ? [2f * i] : [2f * i, 2f * i], Assert.Single(results[i].Response!.Outputs).Fp32Data!);
        }

        Assert.All(_model.CallWidths, widths => Assert.Single(widths.Distinct()));
        Assert.Equal(8, _model.Calls.Sum(c => c.Length));
    }

    [Fact]
    public async Task PoisonedInput_FailsOnlyItsOwnRequest()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 4, MaxQueueDelay = TimeSpan.FromHours(1) }, fakeTime: false);

        Task<InferResult>[] answers = [.. new[] { 1f, float.NaN, 3f, 4f }.Select(v => _scheduler.SubmitAsync(BatchRecordingModel.Request(v)))];
        InferResult[] results = await Task.WhenAll(answers).WaitAsync(s_cap);

        Assert.Equal(InferErrorKind.BadInput, results[1].Error?.Kind);
        Assert.Contains("NaN", results[1].Error!.Message, StringComparison.Ordinal);
        foreach (int i in (int[])[0, 2, 3])
        {
            Assert.True(results[i].IsSuccess, results[i].Error?.Message);
            Assert.Equal([2f * (i + 1)], Assert.Single(results[i].Response!.Outputs).Fp32Data!);
        }

        // The batch call was tried once as a whole, then each request ran alone.
        Assert.Equal([4, 1, 1, 1, 1], _model.Calls.Select(c => c.Length));
    }

    [Fact]
    public async Task CancelledRequest_LeavesItsBatch_TheOthersRun()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromSeconds(1) });
        using var client = new CancellationTokenSource();

        Task<InferResult> cancelled = _scheduler.SubmitAsync(BatchRecordingModel.Request(1), cancellation: client.Token);
        await TakenAsync();
        client.Cancel();
        Task<InferResult> second = _scheduler.SubmitAsync(BatchRecordingModel.Request(2));
        Task<InferResult> third = _scheduler.SubmitAsync(BatchRecordingModel.Request(3));
        await TakenAsync();
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(InferErrorKind.ClientClosedRequest, (await cancelled.WaitAsync(s_cap)).Error?.Kind);
        Assert.True((await second.WaitAsync(s_cap)).IsSuccess);
        Assert.True((await third.WaitAsync(s_cap)).IsSuccess);
        Assert.Equal([2f, 3f], Assert.Single(_model.Calls));
    }

    [Fact]
    public async Task ExpiredRequest_LeavesItsBatch_TheOthersRun()
    {
        // A expires at 1 s; the batch A opened closes at 1.2 s; B and C, admitted at 0.6 s, expire at 1.6 s.
        await StartAsync(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(1200) }, timeout: TimeSpan.FromSeconds(1));

        Task<InferResult> expired = _scheduler.SubmitAsync(BatchRecordingModel.Request(1));
        await TakenAsync();
        _time.Advance(TimeSpan.FromMilliseconds(600));
        Task<InferResult> second = _scheduler.SubmitAsync(BatchRecordingModel.Request(2));
        Task<InferResult> third = _scheduler.SubmitAsync(BatchRecordingModel.Request(3));
        await TakenAsync();
        _time.Advance(TimeSpan.FromMilliseconds(600));

        Assert.Equal(InferErrorKind.DeadlineExceeded, (await expired.WaitAsync(s_cap)).Error?.Kind);
        Assert.True((await second.WaitAsync(s_cap)).IsSuccess);
        Assert.True((await third.WaitAsync(s_cap)).IsSuccess);
        Assert.Equal([2f, 3f], Assert.Single(_model.Calls));
    }

    [Fact]
    public async Task Stop_RunsWhatWasGathered_AndEndsTheThreads()
    {
        await StartAsync(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromHours(1) }, fakeTime: false);

        Task<InferResult> answer = _scheduler.SubmitAsync(BatchRecordingModel.Request(5));
        await TakenAsync();
        await _executor.StopAsync().WaitAsync(s_cap);

        Assert.True((await answer.WaitAsync(s_cap)).IsSuccess);
    }

    [Fact]
    public void Batching_OnTheSubmittingThread_IsRefused()
    {
        var scheduler = new InferenceScheduler(new SchedulerOptions());
        Assert.Throws<ArgumentException>(() =>
            new InProcessExecutor(_model, scheduler, 1, runOnCaller: true, batching: new BatchingOptions { MaxBatchSize = 2 }));
    }

    private async Task StartAsync(BatchingOptions batching, int threads = 1, bool fakeTime = true, TimeSpan? timeout = null)
    {
        _scheduler = new InferenceScheduler(
            new SchedulerOptions { RequestTimeout = timeout ?? TimeSpan.FromSeconds(30) }, fakeTime ? _time : TimeProvider.System);
        _executor = new InProcessExecutor(_model, _scheduler, threads, batching: batching);
        _executor.Start();
        await _executor.WarmedUp.WaitAsync(s_cap);
        _model.Calls.Clear();
        _model.CallWidths.Clear();
    }

    /// <summary>Until an executor thread has taken everything queued (it is then gathering, or running, a batch).</summary>
    private async Task TakenAsync()
    {
        using var cap = new CancellationTokenSource(s_cap);
        while (_scheduler.QueuedCount > 0)
        {
            await Task.Yield();
            cap.Token.ThrowIfCancellationRequested();
        }
    }
}
