using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using Sharpserve.Abstractions;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;
using Sharpserve.Supervision;

namespace Sharpserve.Tests.Supervision;

/// <summary>
/// Process mode's supervision, step by step: the real executor and supervisor over a real Unix socket, with
/// in-process fake workers and fake time. Tests wait for what the system does by itself (a launch, a frame, a log
/// line), never for wall-clock time.
/// </summary>
public sealed class SupervisionTests : IAsyncLifetime
{
    private static readonly FakeWorkerOptions s_healthy = new() { AnswerAtOnce = "ok" };

    private readonly FakeTimeProvider _time = new();
    private readonly LogLines _log = new();
    private ProcessExecutor? _executor;
    private InferenceScheduler? _scheduler;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_executor is not null)
        {
            await _executor.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await _scheduler!.DisposeAsync();
        }
    }

    [Fact]
    public async Task WorkersFailingAtStart_AreRestartedOnlyAfterADoublingBackoff()
    {
        // One healthy worker, Ready before anything fails (a worker turning Ready resets the backoff); then one more
        // is asked for, and every start of it fails.
        FakeWorkerLauncher launcher = Start(n => n == 1 ? s_healthy : new FakeWorkerOptions { DieBeforeHello = true }, workers: 1);
        FakeWorker healthy = await launcher.NextAsync();
        await WaitForReadyAsync(1);
        _executor!.Scale(+1);

        // Fake time moves 50 ms a step; each step waits for the heartbeat's Ping to the healthy worker.
        for (int step = 0; step < 100 && launcher.Count < 5; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(50));
            await healthy.ReceiveAsync(pings: true);
        }

        IReadOnlyList<DateTimeOffset> launched = launcher.LaunchTimes;
        Assert.True(launched.Count >= 5, $"only {launched.Count} launches");
        // Launch 2 failed at once; launch 3 waited 100 ms, 4 waited 200 ms, 5 waited 400 ms.
        Assert.True(launched[2] - launched[1] >= TimeSpan.FromMilliseconds(100), $"{(launched[2] - launched[1]).TotalMilliseconds} ms");
        Assert.True(launched[3] - launched[2] >= TimeSpan.FromMilliseconds(200), $"{(launched[3] - launched[2]).TotalMilliseconds} ms");
        Assert.True(launched[4] - launched[3] >= TimeSpan.FromMilliseconds(400), $"{(launched[4] - launched[3]).TotalMilliseconds} ms");
        string[] backoffs = [.. _log.Lines.Where(l => l.StartsWith("[4003]", StringComparison.Ordinal)).Take(3)];
        Assert.Contains("next start in 100 ms", backoffs[0], StringComparison.Ordinal);
        Assert.Contains("next start in 200 ms", backoffs[1], StringComparison.Ordinal);
        Assert.Contains("next start in 400 ms", backoffs[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task FiveFailedStartsInARow_FaultWarmUp()
    {
        FakeWorkerLauncher launcher = Start(_ => new FakeWorkerOptions { DieBeforeHello = true }, workers: 1);

        for (int step = 0; step < 400 && !_executor!.WarmedUp.IsCompleted; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            await _log.WaitForAsync(_ => _log.Count(l => l.StartsWith("[4003]", StringComparison.Ordinal)) >= Math.Min(5, launcher.Count), "each start's loss");
        }

        var failure = await Assert.ThrowsAsync<WorkerPoolStartException>(() => _executor!.WarmedUp);
        Assert.Contains("failed to start 5 times in a row", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestOfALostWorker_IsRetriedOnceOnASibling()
    {
        FakeWorkerLauncher launcher = Start(_ => new FakeWorkerOptions(), workers: 2);
        await _executor!.WarmedUp;
        await WaitForReadyAsync(2);

        Task<InferResult> answer = Submit("hello");
        (FakeWorker first, FakeWorker.Frame2 sent) = await launcher.NextInferAsync();
        first.Exit("was killed by signal 9");
        (FakeWorker second, FakeWorker.Frame2 retried) = await launcher.NextInferAsync();
        second.Answer(retried.RequestId, "from the sibling");

        InferResult result = await answer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.NotSame(first, second);
        Assert.Equal("hello", Text(retried.Request!));
        Assert.NotEqual(sent.RequestId, retried.RequestId);
        Assert.True(result.IsSuccess);
        Assert.Equal("from the sibling", Label(result));
        Assert.Contains("1 in-flight request(s) retried on a sibling", await _log.WaitForAsync(l => l.StartsWith("[4003]", StringComparison.Ordinal), "the loss"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RequestWhoseRetryIsLostToo_IsWorkerCrashed()
    {
        FakeWorkerLauncher launcher = Start(_ => new FakeWorkerOptions(), workers: 2);
        await WaitForReadyAsync(2);

        Task<InferResult> answer = Submit("doomed");
        (await launcher.NextInferAsync()).Worker.Exit("was killed by signal 9");
        (await launcher.NextInferAsync()).Worker.Exit("was killed by signal 9");

        InferResult result = await answer.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(InferErrorKind.WorkerCrashed, result.Error!.Kind);
        Assert.Equal("the worker serving this request died, and so did its retry", result.Error.Message);
    }

    [Fact]
    public async Task SilentWorker_IsKilled_OnlyAfterTheTimeout()
    {
        FakeWorkerLauncher launcher = Start(n => n == 1 ? new FakeWorkerOptions { AnswerPings = false } : s_healthy, workers: 1);
        FakeWorker silent = await launcher.NextAsync();
        await WaitForReadyAsync(1);
        DateTimeOffset firstPing = DateTimeOffset.MinValue;

        for (int step = 0; step < 100 && !silent.Handle.WasKilled; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            // The heartbeat pass this advance released either pings the worker or kills it; wait for whichever it did.
            Task<FakeWorker.Frame2> ping = silent.ReceiveAsync(pings: true);
            if (await Task.WhenAny(ping, silent.Handle.Exited) == ping)
            {
                firstPing = firstPing == DateTimeOffset.MinValue ? _time.GetUtcNow() : firstPing;
            }
        }

        string killed = await _log.WaitForAsync(l => l.StartsWith("[4005]", StringComparison.Ordinal), "the kill");
        Assert.True(silent.Handle.WasKilled);
        Assert.Contains($"Killing worker {silent.Id} (pid {Environment.ProcessId}): it was silent for more than 1 s (--timeout)", killed, StringComparison.Ordinal);
        Assert.True(_time.GetUtcNow() - firstPing > TimeSpan.FromSeconds(1), $"killed {_time.GetUtcNow() - firstPing} after the first Ping");
        _time.Advance(TimeSpan.FromMilliseconds(200)); // past the restart backoff: the next heartbeat pass starts one
        FakeWorker replacement = await launcher.NextAsync();
        Assert.NotSame(silent, replacement);
    }

    [Fact]
    public async Task Recycling_KeepsTheOldWorkerServing_UntilItsReplacementIsReady()
    {
        FakeWorkerLauncher launcher = Start(
            n => n == 1 ? new FakeWorkerOptions { AnswerAtOnce = "old" } : new FakeWorkerOptions { AnswerAtOnce = "new", ReadyAtOnce = false },
            workers: 1,
            o => o with { MaxRequests = 2 });
        FakeWorker old = await launcher.NextAsync();
        await WaitForReadyAsync(1);

        Assert.Equal("old", Label(await Submit("1")));
        Assert.Equal("old", Label(await Submit("2")));
        FakeWorker replacement = await launcher.NextAsync(); // started at the second answer
        await _log.WaitForAsync(l => l.StartsWith("[4006]", StringComparison.Ordinal) && l.Contains("served 2 requests", StringComparison.Ordinal), "the recycle");
        Assert.Equal("old", Label(await Submit("3"))); // capacity kept while the replacement starts
        while (old.TryReceive(out FakeWorker.Frame2 frame))
        {
            Assert.Equal(FrameType.Infer, frame.Type); // no Shutdown before the replacement is Ready
        }


        await replacement.SayReadyAsync();
        await _log.WaitForAsync(l => l.StartsWith("[4007]", StringComparison.Ordinal) && l.Contains($"Worker {old.Id} ", StringComparison.Ordinal), "the old worker draining");
        Assert.Equal("new", Label(await Submit("4")));
        for (int step = 0; step < 100 && !old.Handle.Exited.IsCompleted; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100)); // the heartbeat sends Shutdown to the drained worker
            await replacement.ReceiveAsync(pings: true);
        }

        Assert.Equal("exited with code 0", await old.Handle.Exited);
        Assert.False(old.Handle.WasKilled);
        Assert.Equal(0, _executor!.Restarts);
    }

    [Fact]
    public async Task Stop_FinishesTheRequestInFlight_ThenShutsTheWorkerDown()
    {
        FakeWorkerLauncher launcher = Start(_ => new FakeWorkerOptions(), workers: 1);
        FakeWorker worker = await launcher.NextAsync();
        await WaitForReadyAsync(1);
        Task<InferResult> answer = Submit("in flight");
        FakeWorker.Frame2 infer = await worker.ReceiveAsync();

        Task stopping = _executor!.StopAsync();
        Assert.False(worker.TryReceive(out _)); // no Shutdown while it holds a request
        worker.Answer(infer.RequestId, "finished");

        Assert.Equal("finished", Label(await answer.WaitAsync(TimeSpan.FromSeconds(30))));
        Assert.Equal(FrameType.Shutdown, (await worker.ReceiveAsync()).Type);
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("exited with code 0", await worker.Handle.Exited);
        Assert.Equal(0, _executor.Restarts);
    }

    [Fact]
    public async Task Handshake_WithAnotherProtocolVersion_OrAnUnknownId_IsRefused()
    {
        FakeWorkerLauncher launcher = Start(n => n == 1 ? s_healthy : new FakeWorkerOptions { HelloId = 999 }, workers: 1);
        FakeWorker healthy = await launcher.NextAsync();
        await WaitForReadyAsync(1);

        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(healthy.Launch.SocketPath));
            byte[] hello = new byte[13 + 10];
            hello[0] = 10; // payload length
            hello[4] = (byte)FrameType.Hello;
            hello[13] = 99; // protocol version 99
            await socket.SendAsync(hello);
            await _log.WaitForAsync(l => l.StartsWith("[4011]", StringComparison.Ordinal) && l.Contains("protocol version 99", StringComparison.Ordinal), "the refused version");
        }

        _executor!.Scale(+1);
        FakeWorker impostor = await launcher.NextAsync();
        string refused = await _log.WaitForAsync(l => l.Contains("no starting worker 999", StringComparison.Ordinal), "the refused id");
        Assert.StartsWith("[4011] Refused a worker connection", refused, StringComparison.Ordinal);
        Assert.Equal(WorkerState.Starting, _executor.GetStatus().Single(w => w.Id == impostor.Id).State);
    }

    private FakeWorkerLauncher Start(Func<int, FakeWorkerOptions> behaviour, int workers, Func<WorkerPoolOptions, WorkerPoolOptions>? configure = null)
    {
        var launcher = new FakeWorkerLauncher(behaviour, _time);
        var options = new WorkerPoolOptions
        {
            Workers = workers,
            Timeout = TimeSpan.FromSeconds(1),
            HeartbeatPeriod = TimeSpan.FromMilliseconds(50),
            GracefulTimeout = TimeSpan.FromSeconds(30),
            Launcher = launcher,
        };
        _scheduler = new InferenceScheduler(new SchedulerOptions { RequestTimeout = TimeSpan.FromHours(1) }, _time);
        _executor = new ProcessExecutor("/nonexistent/model.img", "fake", configure?.Invoke(options) ?? options, _scheduler, _log, _time, startTogether: true);
        _executor.Start();
        return launcher;
    }

    private Task<InferResult> Submit(string text) =>
        _scheduler!.SubmitAsync(new InferenceRequest([Tensor.FromBytes("text", [1], [System.Text.Encoding.UTF8.GetBytes(text)])], InferenceParameters.Default), _executor);

    private async Task WaitForReadyAsync(int count) =>
        await _log.WaitForAsync(_ => _executor!.GetStatus().Count(w => w.State == WorkerState.Ready) >= count, $"{count} Ready worker(s)");

    private static string Text(InferenceRequest request) => System.Text.Encoding.UTF8.GetString(request.Inputs[0].BytesData![0]);

    private static string Label(InferResult result)
    {
        Assert.True(result.IsSuccess, result.Error?.Message);
        return System.Text.Encoding.UTF8.GetString(result.Response!.Outputs[0].BytesData![0]);
    }
}
