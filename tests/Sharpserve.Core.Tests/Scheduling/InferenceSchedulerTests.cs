using System.Text;
using Microsoft.Extensions.Time.Testing;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Scheduling;

public sealed class InferenceSchedulerTests : IAsyncLifetime
{
    private readonly FakeModel _model = new();
    private readonly ManualResetEventSlim _gate = new(false);
    private readonly FakeTimeProvider _time = new();
    private InferenceScheduler _scheduler = null!;
    private InProcessExecutor _executor = null!;

    public Task InitializeAsync()
    {
        _model.PredictGate = _gate;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _gate.Set();
        if (_executor is not null)
        {
            await _executor.DisposeAsync();
        }

        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync();
        }
    }

    private async Task StartAsync(int capacity, int threads = 1, TimeSpan? timeout = null)
    {
        _scheduler = new InferenceScheduler(
            new SchedulerOptions { QueueCapacity = capacity, RequestTimeout = timeout ?? TimeSpan.FromSeconds(30) },
            _time);
        _executor = new InProcessExecutor(_model, _scheduler, threads);
        _executor.Start();
        await _executor.WarmedUp;
    }

    private static InferenceRequest Request(string text) =>
        new([Tensor.FromBytes("text", [1], [Encoding.UTF8.GetBytes(text)])], InferenceParameters.Default);

    [Fact]
    public async Task Submit_WhenQueueFull_ReturnsQueueFullAtOnce()
    {
        await StartAsync(capacity: 1);
        Task<InferResult> running = _scheduler.SubmitAsync(Request("a"));
        await _model.PredictStarted.WaitAsync();
        Task<InferResult> queued = _scheduler.SubmitAsync(Request("b"));

        Task<InferResult> refused = _scheduler.SubmitAsync(Request("c"));

        Assert.True(refused.IsCompleted);
        Assert.Equal(InferErrorKind.QueueFull, (await refused).Error!.Kind);
        _gate.Set();
        Assert.True((await running).IsSuccess);
        Assert.True((await queued).IsSuccess);
    }

    [Fact]
    public async Task Submit_PastDeadline_AnswersDeadlineExceededWhileStillRunning()
    {
        await StartAsync(capacity: 4, timeout: TimeSpan.FromSeconds(2));
        Task<InferResult> running = _scheduler.SubmitAsync(Request("slow"));
        await _model.PredictStarted.WaitAsync();

        _time.Advance(TimeSpan.FromSeconds(3));

        InferResult result = await running;
        Assert.Equal(InferErrorKind.DeadlineExceeded, result.Error!.Kind);
        Assert.Equal(0, _model.CompletedCount);
    }

    [Fact]
    public async Task QueuedRequest_PastDeadline_IsNeverRun()
    {
        await StartAsync(capacity: 4, timeout: TimeSpan.FromSeconds(2));
        Task<InferResult> running = _scheduler.SubmitAsync(Request("first"));
        await _model.PredictStarted.WaitAsync();
        Task<InferResult> queued = _scheduler.SubmitAsync(Request("second"));

        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(InferErrorKind.DeadlineExceeded, (await queued).Error!.Kind);
        _gate.Set();
        await running;
        Task<InferResult> later = _scheduler.SubmitAsync(Request("third"));
        Assert.True((await later).IsSuccess);

        Assert.Equal(2, _model.StartedCount); // "first" and "third"; "second" was dropped unrun
    }

    [Fact]
    public async Task BackendException_AnswersBackendFailed_AndExecutorKeepsServing()
    {
        _gate.Set();
        await StartAsync(capacity: 4);

        InferResult failed = await _scheduler.SubmitAsync(Request(FakeModel.ThrowText));
        InferResult next = await _scheduler.SubmitAsync(Request("fine"));

        Assert.Equal(InferErrorKind.BackendFailed, failed.Error!.Kind);
        Assert.True(next.IsSuccess);
        Assert.Equal("fine", Encoding.UTF8.GetString(next.Response!.Outputs[0].BytesData![0]));
    }

    [Fact]
    public async Task Stop_FinishesAdmittedWork_AndRefusesNewWork()
    {
        await StartAsync(capacity: 4);
        Task<InferResult> running = _scheduler.SubmitAsync(Request("a"));
        await _model.PredictStarted.WaitAsync();
        Task<InferResult> queued = _scheduler.SubmitAsync(Request("b"));

        Task stopped = _executor.StopAsync();
        InferResult refused = await _scheduler.SubmitAsync(Request("c"));
        _gate.Set();
        await stopped;

        Assert.True((await running).IsSuccess);
        Assert.True((await queued).IsSuccess);
        Assert.Equal(InferErrorKind.ShuttingDown, refused.Error!.Kind);
    }

    [Fact]
    public async Task ManyThreads_AnswerEveryRequestWithItsOwnText()
    {
        _gate.Set();
        await StartAsync(capacity: 1024, threads: 4);
        var tasks = new List<Task<InferResult>>();
        for (int i = 0; i < 500; i++)
        {
            tasks.Add(_scheduler.SubmitAsync(Request($"text {i}")));
        }

        for (int i = 0; i < tasks.Count; i++)
        {
            InferResult result = await tasks[i];
            Assert.Equal($"text {i}", Encoding.UTF8.GetString(result.Response!.Outputs[0].BytesData![0]));
        }
    }
}
