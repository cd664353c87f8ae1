using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sharpserve.Supervision;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Process mode's supervisor, judged by what it reports (GET /status, its log, its exit): recycling under load, a
/// request whose retry dies too, the restart backoff and giving up on workers that never start.
/// </summary>
public sealed partial class ProcessModeSupervisionTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-supervision-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task MaxRequests_UnderLoad_RetiresWorkersOnlyPastTheirCount_AndReadyNeverDropsBelowTarget()
    {
        const int MaxRequests = 60;
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with { MaxRequests = MaxRequests, MaxRequestsJitter = 20 });
        var workers = new Dictionary<int, (long Requests, bool Drained)>();
        var samples = new List<int>();
        using var stop = new CancellationTokenSource();

        // GET /status, sampled for the whole load: every sample counts the Ready workers and keeps each worker's
        // highest request count (a draining worker takes no new request, so its count there is its last).
        async Task SampleAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                using JsonDocument status = await HttpAssert.JsonAsync(await server.Client.GetAsync(new Uri("/status", UriKind.Relative)));
                int ready = 0;
                foreach (JsonElement worker in status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray())
                {
                    int pid = worker.GetProperty("pid").GetInt32();
                    string state = worker.GetProperty("state").GetString()!;
                    ready += state == "ready" ? 1 : 0;
                    workers.TryGetValue(pid, out (long Requests, bool Drained) seen);
                    workers[pid] = (Math.Max(seen.Requests, worker.GetProperty("requests").GetInt64()), seen.Drained || state == "draining");
                }

                samples.Add(ready);
            }
        }

        Task sampling = SampleAsync();
        List<string> failures = await server.LoadAsync(clients: 4, requestsPerClient: 150, after: 1, during: () => Task.CompletedTask);
        await server.Log.WaitForLineAsync(l => l.Contains("draining: replaced", StringComparison.Ordinal), "a recycled worker drains");
        await stop.CancelAsync();
        await sampling;

        Assert.Empty(failures);
        Assert.Equal(0, server.Pool.Restarts);
        Assert.NotEmpty(samples);
        Assert.All(samples, ready => Assert.True(ready >= 2, $"a /status sample showed {ready} Ready workers, below the target of 2: [{string.Join(", ", samples)}]"));

        // Each recycling names the count that triggered it: never below --max-requests (so not after every request).
        string[] recycled = [.. server.Log.Lines.Where(l => l.Contains("(--max-requests)", StringComparison.Ordinal))];
        Assert.NotEmpty(recycled);
        foreach (string line in recycled)
        {
            long served = long.Parse(ServedCount().Match(line).Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.True(served >= MaxRequests, line);
        }

        // A worker with nothing in flight drains in well under a millisecond, so a sample may never see one draining;
        // the log lines above are the proof that recycling happened, and any draining worker a sample did see must
        // show at least --max-requests served in /status too.
        (long Requests, bool Drained)[] retired = [.. workers.Values.Where(w => w.Drained)];
        Assert.All(retired, w => Assert.True(w.Requests >= MaxRequests, $"a worker retired after {w.Requests} requests, fewer than --max-requests {MaxRequests}"));
    }

    [Fact]
    public async Task RequestWhoseWorkerDies_AndWhoseRetryDiesToo_Answers503WithJsonError_ThenTheServerRecovers()
    {
        // Without the once-only file every worker injects the crash: the first worker dies, then the retry's.
        await using ProcessModeServer server = await ProcessModeServer.StartAsync(o => o with
        {
            Launcher = ProcessModeServer.FaultyWorkers(new Dictionary<string, string>()),
        });
        int[] before = [.. server.Pool.GetStatus().Select(w => w.Pid)];

        using (HttpResponseMessage answer = await server.ClassifyAsync(WorkerFaults.Crash))
        {
            Assert.NotNull(answer.Headers.RetryAfter);
            await HttpAssert.ErrorAsync(answer, HttpStatusCode.ServiceUnavailable, "the worker serving this request died, and so did its retry");
        }

        await server.WaitUntilAsync(w => ProcessModeServer.CountReady(w) == 2 && !w.Any(x => before.Contains(x.Pid)), "both dead workers are replaced");
        using HttpResponseMessage after = await server.ClassifyAsync("Guten Morgen, wie geht es dir?");

        Assert.Equal("__label__de", await after.Content.ReadAsStringAsync());
        Assert.Equal(2, server.Pool.Restarts);
        // Both losses were unexpected and consecutive: the first retried the request, the second could not.
        string[] lost = [.. server.Log.Lines.Where(l => l.Contains("[4003]", StringComparison.Ordinal))];
        Assert.Equal(2, lost.Length);
        Assert.Contains("1 in-flight request(s) retried on a sibling; next start in 100 ms", lost[0], StringComparison.Ordinal);
        Assert.Contains("next start in 200 ms", lost[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task WorkersDyingAtStart_AreRestartedWithADoublingBackoff_OneAtATime()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            "serve --workers 1 --port 0", cacheDir: _temp, environment: DieAtStart);

        // In log order: spawned, lost (next start in 100 ms), spawned, lost (200 ms), ... each loss doubling it.
        var events = new List<string>();
        foreach (string line in stdout.Split('\n'))
        {
            if (line.Contains("[4001] Worker", StringComparison.Ordinal))
            {
                events.Add("spawned");
            }
            else if (BackoffLine().Match(line) is { Success: true } lost)
            {
                events.Add($"lost {lost.Groups[1].Value}");
            }
        }

        Assert.True(events.Count >= 10, $"exit {exitCode}; events: {string.Join(", ", events)}\n{stdout}\n{stderr}");
        Assert.Equal(
            ["spawned", "lost 100", "spawned", "lost 200", "spawned", "lost 400", "spawned", "lost 800", "spawned", "lost 1600"],
            events[..10]);
        Assert.Equal(1, exitCode);
    }

    [Fact]
    public async Task WorkersDyingAtStartFiveTimesInARow_MakeServeExit1WithAClearMessage_NeverReady()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --workers 2 --port 0", _temp, environment: DieAtStart);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        Task<int> exited = process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var answers = new List<HttpStatusCode>();
        while (!exited.IsCompleted)
        {
            try
            {
                using HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
                answers.Add(ready.StatusCode);
            }
            catch (HttpRequestException)
            {
                break; // stopped listening on its way out
            }

            await Task.WhenAny(exited, Task.Delay(50));
        }

        int exitCode = await exited;
        string output = process.StandardOutput + process.StandardError;

        Assert.Equal(1, exitCode);
        Assert.NotEmpty(answers);
        Assert.All(answers, status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
        Assert.Contains("worker processes failed to start 5 times in a row", output, StringComparison.Ordinal);
        Assert.Contains("the server never became ready", output, StringComparison.Ordinal);
        Assert.DoesNotContain("is ready", output, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> DieAtStart => new()
    {
        ["SHARPSERVE_TEST_FAULTS"] = "1",
        [WorkerFaults.DieAtStartVariable] = "1",
    };

    [GeneratedRegex(@"served (\d+) requests \(--max-requests\)")]
    private static partial Regex ServedCount();

    [GeneratedRegex(@"\[4003\] Worker \d+ \(pid \d+\) lost: .*; next start in (\d+) ms")]
    private static partial Regex BackoffLine();
}
