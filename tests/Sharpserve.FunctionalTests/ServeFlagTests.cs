using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Each <c>serve</c> flag of <c>sharpserve serve --help</c> not tested elsewhere, given on the real executable's
/// command line and judged by its documented effect (answers, /status, the log). Faults are injected in workers
/// with SHARPSERVE_TEST_FAULTS (see WorkerFaults).
/// </summary>
public sealed partial class ServeFlagTests : IDisposable
{
    private const int SigTtin = 21;
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-flags-").FullName;
    private readonly string _model;

    public ServeFlagTests()
    {
        _model = Path.Combine(_temp, "langid.bin");
        File.Copy(TestServer.DemoModelPath, _model);
    }

    private string Cache => Path.Combine(_temp, "cache");

    /// <summary>Faults on; with <paramref name="once"/>, only the first worker to meet a marker injects it.</summary>
    private Dictionary<string, string> Faults(bool once = true)
    {
        var environment = new Dictionary<string, string> { ["SHARPSERVE_TEST_FAULTS"] = "1" };
        if (once)
        {
            environment["SHARPSERVE_TEST_FAULT_ONCE"] = Path.Combine(_temp, "fault-once");
        }

        return environment;
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Host_Localhost_BindsTheLoopbackAddress()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --host localhost --port 0 --threads 1", Cache);

        Assert.Equal("127.0.0.1", served.Client.BaseAddress!.Host);
        Assert.Equal("__label__de", await ClassifyAsync(served.Client, "Guten Morgen, wie geht es dir?"));
    }

    [Fact]
    public async Task WorkerThreads_StartsThatManyExecutorThreadsInEachWorker()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 1 --worker-threads 3", Cache);

        Assert.Equal("__label__it", await ClassifyAsync(served.Client, "Buongiorno, vorrei un caffè"));
        Assert.Contains("model 'langid', 1 worker processes x 3 thread(s)", served.Process.StandardOutput, StringComparison.Ordinal);
        // The worker's own report, forwarded to the front's log.
        await served.Process.WaitForOutputAsync("mapped (3367168 bytes), 3 executor thread(s)");
    }

    [Fact]
    public async Task Timeout_KillsAWorkerStuckOnARequest_AndItsRequestIsAnsweredBySibling()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 2 --timeout 1s", Cache, Faults());

        using HttpResponseMessage answer = await served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        string killed = await served.Process.WaitForOutputAsync("[4005] Killing worker");
        Assert.Matches(@"Killing worker \d+ \(pid \d+\): it was stuck on a request for more than 1 s \(--timeout\)", killed);
    }

    [Fact]
    public async Task MaxRequests_RecyclesAWorkerAtExactlyThatCount_ReplacementFirst()
    {
        const int MaxRequests = 1000;
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 1 --max-requests {MaxRequests}", Cache);
        (int pid, long servedAtReady) = (await WorkersAsync(served.Client)).Single();
        Assert.True(servedAtReady < MaxRequests, $"the warm-up alone made {servedAtReady} requests");

        // Sequential requests up to the count, then nothing: the heartbeat that sees the count reports it exactly.
        for (long i = servedAtReady; i < MaxRequests; i++)
        {
            Assert.Equal("__label__de", await ClassifyAsync(served.Client, "Guten Tag"));
        }

        string recycled = await served.Process.WaitForOutputAsync("(--max-requests)");
        await served.Process.WaitForOutputAsync($"Worker 1 (pid {pid}) draining: replaced");
        await served.Process.WaitForOutputAsync($"Worker 1 (pid {pid}) exited");

        Assert.Contains($"Recycling worker 1 (pid {pid}): it served {MaxRequests} requests (--max-requests); its replacement starts first", recycled, StringComparison.Ordinal);
        string output = served.Process.StandardOutput;
        Assert.True(
            output.IndexOf("Worker 2 (pid", StringComparison.Ordinal) < output.IndexOf($"Worker 1 (pid {pid}) draining", StringComparison.Ordinal),
            "the old worker drained before its replacement was ready");
        Assert.Equal(0, await RestartsAsync(served.Client));
    }

    /// <summary>
    /// --max-requests 1: every worker is past it after the warm-up. With jitter 0 the worker is recycled; with a
    /// jitter of 10^9 its own limit is (all but certainly) far above what it served, so it is not. A SIGTTIN makes
    /// the next heartbeat spawn a worker after checking the others: once that spawn is logged, a check has run.
    /// </summary>
    [Theory]
    [InlineData(0L, true)]
    [InlineData(1_000_000_000L, false)]
    public async Task MaxRequestsJitter_AddsToEachWorkersLimit(long jitter, bool recycled)
    {
        await using ServedProcess served = await ServedProcess.StartAsync(
            $"\"{_model}\" --port 0 --workers 1 --max-requests 1 --max-requests-jitter {jitter}", Cache);
        long servedAtReady = (await WorkersAsync(served.Client)).Max(w => w.Requests);
        // A worker past its limit is recycled on the answer that reached it, so with jitter 0 /status may already list
        // only its replacement, which has served nothing yet; the log line then says the warm-up went through it.
        Assert.True(
            servedAtReady >= 1 || served.Process.StandardOutput.Contains("(--max-requests)", StringComparison.Ordinal),
            "the warm-up went through the worker");

        served.Process.SendSignal(SigTtin);
        await served.Process.WaitForOutputAsync("Scaling workers from 1 to 2");
        await served.Process.WaitForOutputAsync("Worker 2 spawned");

        Assert.Equal(recycled, served.Process.StandardOutput.Contains("(--max-requests)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MaxWorkerMemory_RecyclesAWorkerWhosePrivateMemoryGrowsPastIt_NamingGrowthAndBudget()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 1 --max-worker-memory 200m", Cache, Faults());
        long before = (await WorkerMemoryAsync(served.Client)).Single().Growth;
        Assert.True(before < 200L << 20, $"a worker that served only the warm-up already grew by {before >> 20} MiB");

        // The worker takes and keeps 256 MiB, then answers.
        using HttpResponseMessage answer = await served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Grow));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        string recycled = await served.Process.WaitForOutputAsync("(--max-worker-memory)");
        await served.Process.WaitForOutputAsync("draining: replaced");

        Match grew = GrewMiB().Match(recycled);
        Assert.True(grew.Success, recycled);
        // The heartbeat may read the worker part-way through its 256 MiB: past the budget is what it reports.
        Assert.True(int.Parse(grew.Groups[1].Value, CultureInfo.InvariantCulture) > 200, recycled);
        Assert.Equal("200", grew.Groups[2].Value);
        Assert.Equal(0, await RestartsAsync(served.Client));
    }

    /// <summary>
    /// The budget counts growth since Ready, so a worker that grew less than it keeps serving. Two SIGTTINs each make
    /// the next heartbeat spawn a worker after checking the others (see MaxRequestsJitter_AddsToEachWorkersLimit);
    /// the second spawn's check ran wholly after the growth was answered.
    /// </summary>
    [Fact]
    public async Task MaxWorkerMemory_AboveTheWorkersGrowth_DoesNotRecycleIt()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 1 --max-worker-memory 1g", Cache, Faults());

        using HttpResponseMessage answer = await served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Grow));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        // Most of the 256 MiB leak (the GC may since have given back a few pages it held at Ready), under the budget.
        (int pid, long growth) = (await WorkerMemoryAsync(served.Client)).Single();
        Assert.InRange(growth, 200L << 20, 1L << 30);

        served.Process.SendSignal(SigTtin);
        await served.Process.WaitForOutputAsync("Worker 2 spawned");
        served.Process.SendSignal(SigTtin);
        await served.Process.WaitForOutputAsync("Worker 3 spawned");

        Assert.DoesNotContain("(--max-worker-memory)", served.Process.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(pid, (await WorkersAsync(served.Client)).Select(w => w.Pid));
        Assert.Equal(0, await RestartsAsync(served.Client));
    }

    [Fact]
    public async Task QueueCapacity_AnswersAtOnce503WithRetryAfter_WhenTheQueueIsFull()
    {
        // One worker takes 32 requests at most; here they hang. The 33rd waits at the dispatcher, the 34th fills
        // the queue of 1, the 35th is refused.
        ServedProcess served = await ServedProcess.StartAsync(
            $"\"{_model}\" --port 0 --workers 1 --queue-capacity 1 --graceful-timeout 1s", Cache, Faults(once: false));
        var held = new List<Task<HttpResponseMessage>>();
        try
        {
            for (int i = 0; i < 32; i++)
            {
                held.Add(served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang)));
            }

            await WaitForStatusAsync(served.Client, m => m.GetProperty("workers")[0].GetProperty("in_flight").GetInt32() == 32, "32 requests at the worker");
            held.Add(served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang)));
            await WaitForStatusAsync(served.Client, m => m.GetProperty("pending").GetInt32() == 33 && m.GetProperty("queued").GetInt32() == 0, "the 33rd at the dispatcher");
            held.Add(served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang)));
            await WaitForStatusAsync(served.Client, m => m.GetProperty("queued").GetInt32() == 1, "the 34th in the queue");

            using HttpResponseMessage refused = await served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("Guten Tag"));

            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            await HttpAssert.ErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "the server is at capacity");
        }
        finally
        {
            await served.StopAsync(); // the held requests never end by themselves
            await served.DisposeAsync();
            await Task.WhenAll(held.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));
        }
    }

    [Fact]
    public async Task RequestTimeout_Answers504_WhenAWorkerDoesNotAnswerInTime()
    {
        await using ServedProcess served = await ServedProcess.StartAsync(
            $"\"{_model}\" --port 0 --workers 1 --request-timeout 500ms --timeout 2s", Cache, Faults());

        using (HttpResponseMessage late = await served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang)))
        {
            await HttpAssert.ErrorAsync(late, HttpStatusCode.GatewayTimeout, "the request was not answered within its deadline");
        }

        // The stuck worker is replaced (--timeout), and the server keeps serving.
        await served.Process.WaitForOutputAsync("was stuck on a request");
        await served.Process.WaitForOutputAsync("[4002] Worker 2");
        Assert.Equal("__label__de", await ClassifyAsync(served.Client, "Guten Tag"));
    }

    [Fact]
    public async Task GracefulTimeout_OnSigterm_StopsWaitingForAStuckRequestAfterThatLong()
    {
        ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0 --workers 1 --graceful-timeout 1s", Cache, Faults());
        Task<HttpResponseMessage> stuck = served.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Hang));
        await WaitForStatusAsync(served.Client, m => m.GetProperty("workers")[0].GetProperty("in_flight").GetInt32() == 1, "the request at the worker");

        await served.StopAsync();
        await served.DisposeAsync();
        await stuck.ContinueWith(static _ => { }, TaskScheduler.Default);

        Assert.Contains(
            "Requests still in flight after --graceful-timeout (00:00:01); stopping workers anyway",
            served.Process.StandardOutput,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogLevel_Warning_HidesInformationLines_AndKeepsWarnings()
    {
        // No "Listening on" line at this level, so the port is chosen here: one the system just handed out.
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve \"{_model}\" --port {port} --workers 1 --log-level warning", Cache, environment: Faults());
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        await WaitForReadyAsync(client);

        // A crash is a Warning (worker lost); the spawns, readiness and the worker's own output are Information.
        using HttpResponseMessage answer = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Crash));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        await process.WaitForOutputAsync("[4003] Worker 1");
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        string[] lines = process.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains(" warn: Sharpserve.Supervision[4003]", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(" info: ", StringComparison.Ordinal));
    }

    private static async Task<string> ClassifyAsync(HttpClient client, string text)
    {
        using HttpResponseMessage response = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(text));
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>The Ready workers in GET /status: pid and requests served.</summary>
    private static async Task<List<(int Pid, long Requests)>> WorkersAsync(HttpClient client)
    {
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        var workers = new List<(int, long)>();
        foreach (JsonElement worker in status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray())
        {
            if (worker.GetProperty("state").GetString() == "ready")
            {
                workers.Add((worker.GetProperty("pid").GetInt32(), worker.GetProperty("requests").GetInt64()));
            }
        }

        return workers;
    }

    /// <summary>Each worker's pid and private dirty growth since Ready, from GET /status.</summary>
    private static async Task<List<(int Pid, long Growth)>> WorkerMemoryAsync(HttpClient client)
    {
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        var workers = new List<(int, long)>();
        foreach (JsonElement worker in status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray())
        {
            workers.Add((worker.GetProperty("pid").GetInt32(), worker.GetProperty("private_dirty_growth_bytes").GetInt64()));
        }

        return workers;
    }

    private static async Task<int> RestartsAsync(HttpClient client)
    {
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        return status.RootElement.GetProperty("models")[0].GetProperty("restarts").GetInt32();
    }

    /// <summary>Polls GET /status until the first model's entry satisfies <paramref name="condition"/>; fails after 30 s.</summary>
    private static async Task WaitForStatusAsync(HttpClient client, Func<JsonElement, bool> condition, string what)
    {
        string last = "";
        for (int i = 0; i < 600; i++)
        {
            using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
            JsonElement model = status.RootElement.GetProperty("models")[0];
            if (condition(model))
            {
                return;
            }

            last = model.GetRawText();
            await Task.Delay(50);
        }

        Assert.Fail($"not reached within 30 s: {what}; /status: {last}");
    }

    /// <summary>Polls /v2/health/ready until 200, while the server may not be listening yet; fails after 30 s.</summary>
    private static async Task WaitForReadyAsync(HttpClient client)
    {
        for (int i = 0; i < 600; i++)
        {
            try
            {
                using HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(50);
        }

        Assert.Fail("the server did not become ready within 30 s");
    }

    [GeneratedRegex(@"it grew its private memory by (\d+) MiB since it was ready, more than (\d+) MiB \(--max-worker-memory\)")]
    private static partial Regex GrewMiB();
}
