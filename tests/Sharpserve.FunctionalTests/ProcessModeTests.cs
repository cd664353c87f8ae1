using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sharpserve.Supervision;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>Process mode with real worker processes: answers, crashes, stuck and silent workers, recycling, reload, scaling, drain.</summary>
public sealed partial class ProcessModeTests
{
    private const int SigKill = 9;

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 3)]
    public async Task Start_OneWorkerLoadsAlone_UnlessLoadingIsCheap(bool startTogether, int expectedBeforeAnyReady)
    {
        // Each worker takes a second to say Ready, like a big model. One first (ONNX): while none is Ready, only
        // one exists. Together (a mapped model image): all three start at once.
        int mostBeforeAnyReady = 0;
        int samples = 0;
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(
            o => o with
            {
                Workers = 3,
                Launcher = ProcessModeServer.FaultyWorkers(new Dictionary<string, string> { [WorkerFaults.ReadyDelayVariable] = "1000" }),
            },
            whileStarting: async s =>
            {
                var pool = (IWorkerStatus)s.Registry.Default.Executor;
                while (!s.WhenReady.IsCompleted)
                {
                    IReadOnlyList<WorkerStatus> workers = pool.GetStatus();
                    if (ProcessModeServer.CountReady(workers) == 0)
                    {
                        mostBeforeAnyReady = Math.Max(mostBeforeAnyReady, workers.Count);
                        samples++;
                    }

                    await Task.Delay(20);
                }
            },
            workersStartTogether: startTogether);

        Assert.True(samples > 0);
        Assert.Equal(expectedBeforeAnyReady, mostBeforeAnyReady);
        Assert.Equal(3, ProcessModeServer.CountReady(server.Pool.GetStatus())); // StartAsync waited for all three
    }

    [Fact]
    public async Task Workers_AnswerExactlyAsTheFastTextCli_AndStatusListsThem()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();
        string[] sentences = FastTextGolden.Sentences();
        string[] top3 = FastTextGolden.Lines("langid", "k3");

        foreach ((string text, string label) in ProcessModeServer.Texts)
        {
            using HttpResponseMessage response = await server.Client.PostAsync(
                new Uri("/labelservice/?k=3", UriKind.Relative), new StringContent(text));
            using JsonDocument json = await HttpAssert.JsonAsync(response);
            string expected = FastTextGolden.Line("langid", "k3", text);
            Assert.StartsWith(label + " ", expected, StringComparison.Ordinal);
            Assert.Equal(expected, FastTextGolden.AsCliLine(json.RootElement));
        }

        // Every sentence (the empty one too) in one OIP batch, through a worker.
        string body = JsonSerializer.Serialize(new
        {
            parameters = new { k = 3 },
            inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { sentences.Length }, data = sentences } },
        });
        using (HttpResponseMessage batch = await server.Client.PostAsync(
            new Uri("/v2/models/langid/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")))
        {
            using JsonDocument json = await HttpAssert.JsonAsync(batch);
            JsonElement outputs = json.RootElement.GetProperty("outputs");
            for (int i = 0; i < sentences.Length; i++)
            {
                Assert.Equal(top3[i], FastTextGolden.AsCliLine(outputs, i));
            }
        }

        using JsonDocument status = await HttpAssert.JsonAsync(await server.Client.GetAsync(new Uri("/status", UriKind.Relative)));
        JsonElement workers = status.RootElement.GetProperty("models")[0].GetProperty("workers");
        Assert.Equal(2, workers.GetArrayLength());
        foreach (JsonElement worker in workers.EnumerateArray())
        {
            Assert.Equal("ready", worker.GetProperty("state").GetString());
            Assert.True(ProcessModeServer.ProcessExists(worker.GetProperty("pid").GetInt32()));
            Assert.True(worker.GetProperty("anonymous_bytes").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task KillNineWorkerDuringLoad_NoRequestFails_AndAReplacementBecomesReady()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();
        int victim = server.Pool.GetStatus()[0].Pid;

        List<string> failures = await server.LoadAsync(clients: 4, requestsPerClient: 150, after: 100, during: () =>
        {
            Assert.Equal(0, Worker.NativeMethods.Kill(victim, SigKill));
            return Task.CompletedTask;
        });

        Assert.Empty(failures);
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2 && !w.Any(x => x.Pid == victim), "a replacement worker is ready");
        Assert.Equal(1, server.Pool.Restarts);
    }

    [Fact]
    public async Task StuckWorker_IsKilledAfterTimeout_AndItsRequestIsAnsweredBySibling()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(2), HeartbeatPeriod = TimeSpan.FromMilliseconds(100) });

        Task<HttpResponseMessage> stuck = server.ClassifyAsync(WorkerFaults.Hang);
        List<string> failures = await server.LoadAsync(clients: 2, requestsPerClient: 50, after: 1, during: () => Task.CompletedTask);
        using HttpResponseMessage answer = await stuck;

        Assert.Empty(failures);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode); // retried once on a sibling, where the fault does not fire
        Assert.True(File.Exists(server.FaultOnceFile));
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2, "the stuck worker is replaced");
        Assert.Equal(1, server.Pool.Restarts);
        AssertKilledOnlyTheFaultyWorker(server, WorkerFaults.Hang, "was stuck on a request for more than 2 s (--timeout)");
    }

    [Fact]
    public async Task FrozenIdleWorker_IsKilledForSilence_AndReplaced()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with { Timeout = TimeSpan.FromSeconds(2), HeartbeatPeriod = TimeSpan.FromMilliseconds(100) });
        WorkerStatus frozen = server.Pool.GetStatus()[0];

        // SIGSTOP: the process is alive but answers nothing, not even heartbeats; it holds no request.
        Assert.Equal(0, Kill(frozen.Pid, SigStop));
        await server.WaitUntilAsync(_ => server.Pool.Restarts >= 1, "the silent worker is killed");
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2, "the silent worker is replaced");
        using HttpResponseMessage answer = await server.ClassifyAsync("Buongiorno, vorrei un caffè");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(1, server.Pool.Restarts);
        string killed = Assert.Single(server.Log.Lines, l => l.Contains("[4005] Killing worker", StringComparison.Ordinal));
        Assert.Contains($"Killing worker {frozen.Id} (pid {frozen.Pid}): it was silent for more than 2 s (--timeout)", killed, StringComparison.Ordinal);
    }

    private const int SigStop = 19;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>
    /// The one worker killed is the one that reported injecting <paramref name="fault"/> (its forwarded output line
    /// names its id and pid), and the kill's log line gives <paramref name="reason"/>.
    /// </summary>
    private static void AssertKilledOnlyTheFaultyWorker(ProcessModeServer server, string fault, string reason)
    {
        string injected = Assert.Single(server.Log.Lines, l => l.EndsWith($"test fault injected: {fault}", StringComparison.Ordinal));
        Match faulty = Regex.Match(injected, @"\[worker (\d+) pid (\d+)\]");
        Assert.True(faulty.Success, injected);
        string killed = Assert.Single(server.Log.Lines, l => l.Contains("[4005] Killing worker", StringComparison.Ordinal));
        Assert.True(killed.Contains($"Killing worker {faulty.Groups[1].Value} (pid {faulty.Groups[2].Value}): it {reason}", StringComparison.Ordinal), killed);
    }

    [Fact]
    public async Task WorkerCrashingOnARequest_IsReplaced_AndTheRequestIsRetriedOnASibling()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();

        using HttpResponseMessage answer = await server.ClassifyAsync(WorkerFaults.Crash);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2, "the crashed worker is replaced");
        Assert.Equal(1, server.Pool.Restarts);
    }

    [Fact]
    public async Task StuckRequestPastItsDeadline_Answers504()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(
            o => o with { Timeout = TimeSpan.FromSeconds(20) },
            s => s with { Scheduler = s.Scheduler with { RequestTimeout = TimeSpan.FromMilliseconds(300) } });

        using HttpResponseMessage answer = await server.ClassifyAsync(WorkerFaults.Hang);

        await HttpAssert.ErrorAsync(answer, HttpStatusCode.GatewayTimeout, "deadline");
    }

    [Fact]
    public async Task MaxRequests_RecyclesWorkersDuringLoad_WithNoFailedRequest()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with { MaxRequests = 60, MaxRequestsJitter = 20 });
        int[] first = [.. server.Pool.GetStatus().Select(w => w.Id)];

        List<string> failures = await server.LoadAsync(clients: 4, requestsPerClient: 100, after: 1, during: () => Task.CompletedTask);

        Assert.Empty(failures);
        await server.WaitUntilAsync(w => w.Any(x => !first.Contains(x.Id)), "workers were recycled");
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2, "two ready workers after recycling");
        Assert.Equal(0, server.Pool.Restarts);
    }

    [Fact]
    public async Task MaxWorkerMemory_RecyclesAWorkerThatGrowsOverTheLimit_WithNoFailedRequest()
    {
        // A worker grows by a few MiB as it serves; the grow fault makes one take 256 MiB more, as a leak would.
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with { MaxWorkerMemoryBytes = 64L << 20 });
        int[] first = [.. server.Pool.GetStatus().Select(w => w.Id)];

        List<string> failures = await server.LoadAsync(clients: 2, requestsPerClient: 100, after: 20, during: async () =>
        {
            using HttpResponseMessage grown = await server.ClassifyAsync(WorkerFaults.Grow);
            Assert.Equal(HttpStatusCode.OK, grown.StatusCode);
        });

        Assert.Empty(failures);
        await server.WaitUntilAsync(w => w.Count == 2 && w.Count(x => first.Contains(x.Id)) == 1 && ProcessModeServer.CountReady(w) == 2, "the grown worker was replaced, the other kept");
        Assert.Equal(0, server.Pool.Restarts);
    }

    [Fact]
    public async Task Reload_DuringLoad_RollsEveryWorker_WithNoFailedRequest()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();

        List<string> failures = await server.LoadAsync(clients: 4, requestsPerClient: 120, after: 50, during: () =>
        {
            server.Server.Reload();
            return Task.CompletedTask;
        });

        Assert.Empty(failures);
        await server.WaitUntilAsync(w => w.Count == 2 && w.All(x => x.Generation == 1 && x.State == WorkerState.Ready), "all workers of generation 1");
        Assert.Equal(0, server.Pool.Restarts);
    }

    [Fact]
    public async Task ModelOverwrittenInPlace_ChangesNothing_UntilReloadServesTheNewModel()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();
        const string text = "This program is free software; you can redistribute it";
        using HttpResponseMessage before = await server.ClassifyAsync(text);
        string beforeLabel = await before.Content.ReadAsStringAsync();

        // Overwrite the user's file in place (same inode, as 'cp new.bin model.bin' does), under the live server.
        byte[] other = File.ReadAllBytes(TestServer.DataPath("fasttext", "models", "softmax-ng2.bin"));
        using (var file = new FileStream(server.ModelPath, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(0);
            file.Write(other);
        }

        using HttpResponseMessage during = await server.ClassifyAsync(text);
        Assert.Equal(beforeLabel, await during.Content.ReadAsStringAsync());
        Assert.Equal(2, ProcessModeServer.CountReady(server.Pool.GetStatus()));

        server.Server.Reload();
        await server.WaitUntilAsync(w => w.Count == 2 && w.All(x => x.Generation == 1 && x.State == WorkerState.Ready), "workers on the new model");
        using HttpResponseMessage after = await server.ClassifyAsync(text);
        string afterLabel = await after.Content.ReadAsStringAsync();

        Assert.StartsWith("__label__", beforeLabel, StringComparison.Ordinal);
        Assert.NotEqual(beforeLabel, afterLabel);
        Assert.StartsWith("__label__GPL", afterLabel, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scale_AddsAndRemovesAWorker()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();

        server.Server.Scale(+1);
        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 3, "three ready workers");
        server.Server.Scale(-1);
        await server.WaitUntilAsync(w => w.Count == 2 && ProcessModeServer.CountReady(w) == 2, "back to two workers");
        using HttpResponseMessage answer = await server.ClassifyAsync("Bonjour mes amis");

        Assert.Equal("__label__fr", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Stop_AnswersInFlightRequest_ThenNoWorkerProcessRemains()
    {
        ProcessModeServer server = await ProcessModeServer.StartAsync();
        int[] pids = [.. server.Pool.GetStatus().Select(w => w.Pid)];
        Task<HttpResponseMessage> slow = server.ClassifyAsync(WorkerFaults.Slow);
        await server.WaitUntilAsync(w => w.Any(x => x.InFlight == 1), "the slow request is at a worker");

        Task stopping = server.Server.StopAsync();
        using HttpResponseMessage answer = await slow;
        await stopping;
        await server.DisposeAsync();

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        foreach (int pid in pids)
        {
            Assert.False(ProcessModeServer.ProcessExists(pid), $"worker {pid} outlived the front");
        }
    }
}
