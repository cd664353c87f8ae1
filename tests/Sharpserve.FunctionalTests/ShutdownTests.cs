using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// SIGTERM and SIGINT on the real executable under a small load: what was received before the signal is answered,
/// what comes after it on an open connection is refused with 503 and Connection: close, and the process exits 0.
/// </summary>
public sealed partial class ShutdownTests : IDisposable
{
    private const int SigInt = 2;
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-shutdown-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Theory]
    [InlineData("--threads 2", SigTerm)]
    [InlineData("--threads 2", SigInt)]
    [InlineData("--workers 2", SigTerm)]
    public async Task Signal_AnswersRequestsReceivedBefore_RefusesNewOnes_AndExitsZero(string mode, int signal)
    {
        string release = Path.Combine(_cacheDir, "release-slow-answers");
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --port 0 {mode} --graceful-timeout 60s",
            _cacheDir,
            environment: new Dictionary<string, string>
            {
                ["SHARPSERVE_TEST_FAULTS"] = "1",
                [WorkerFaults.ReleaseVariable] = release,
            });
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);

        // One idle keep-alive connection, opened before the signal.
        using var keepAlive = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = address };
        using (HttpResponseMessage live = await keepAlive.GetAsync(new Uri("/v2/health/live", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        // In flight at the signal: requests still uploading their bodies and, in process mode, requests a worker
        // answers slowly (until the test releases them).
        var uploads = new List<SlowUpload>();
        var clients = new List<HttpClient>();
        var answers = new List<(Task<HttpResponseMessage> Answer, string Expected)>();
        foreach ((string text, string label) in ProcessModeServer.Texts)
        {
            var upload = new SlowUpload(text);
            uploads.Add(upload);
            var own = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
            clients.Add(own);
            answers.Add((own.PostAsync(new Uri("/labelservice/", UriKind.Relative), upload), label));
        }

        int slow = mode.StartsWith("--workers", StringComparison.Ordinal) ? 2 : 0;
        for (int i = 0; i < slow; i++)
        {
            answers.Add((client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(WorkerFaults.Slow)), ""));
        }

        // The server has received every one of them (the gauge counts the scrape itself too).
        await WaitForInFlightAsync(client, uploads.Count + slow + 1);

        process.SendSignal(signal);
        await WaitForOutputAsync(process, "Stopping");

        using (var fresh = new HttpClient { BaseAddress = address })
        using (HttpResponseMessage ready = await fresh.GetAsync(new Uri("/v2/health/ready", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        using (HttpResponseMessage refused = await keepAlive.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("Guten Tag")))
        {
            await HttpAssert.ErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "shutting down");
            Assert.True(refused.Headers.ConnectionClose, "a request after the signal must close its connection");
        }

        foreach (SlowUpload upload in uploads)
        {
            upload.Finish();
        }

        File.WriteAllText(release, "");

        foreach ((Task<HttpResponseMessage> answer, string expected) in answers)
        {
            using HttpResponseMessage response = await answer.WaitAsync(TimeSpan.FromSeconds(60));
            string body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {body}");
            if (expected.Length > 0)
            {
                Assert.Equal(expected, body);
            }
        }

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        foreach (HttpClient own in clients)
        {
            own.Dispose();
        }
    }

    [Fact]
    public async Task Signal_WithARequestSlowerThanGracefulTimeout_CutsItOff_AndExits()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --port 0 --threads 1 --graceful-timeout 1s", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        var upload = new SlowUpload("never finished");
        Task<HttpResponseMessage> answer = client.PostAsync(new Uri("/labelservice/", UriKind.Relative), upload);
        await WaitForInFlightAsync(client, 2);

        process.SendSignal(SigTerm);

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        upload.Finish(); // the rest of the body goes to a closed connection
        Exception? failure = await Record.ExceptionAsync(async () =>
        {
            using HttpResponseMessage response = await answer.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        });
        Assert.True(failure is null or HttpRequestException or TaskCanceledException or IOException, failure?.ToString());
    }

    /// <summary>Polls /metrics (bounded) until the server counts <paramref name="count"/> HTTP requests in flight.</summary>
    private static async Task WaitForInFlightAsync(HttpClient client, int count)
    {
        string metrics = "";
        for (int i = 0; i < 600; i++)
        {
            metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
            Match match = InFlightGauge().Match(metrics);
            if (match.Success && int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) >= count)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"the server did not have {count} requests in flight within 30 s: {InFlightGauge().Match(metrics).Value}");
    }

    private static async Task WaitForOutputAsync(SharpserveProcess process, string text)
    {
        for (int i = 0; i < 600 && !process.StandardOutput.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.Contains(text, process.StandardOutput, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"(?m)^sharpserve_http_requests_in_flight (\d+)$")]
    private static partial Regex InFlightGauge();

    /// <summary>A body sent in two halves: the first at once, the second when the test says so.</summary>
    private sealed class SlowUpload(string text) : HttpContent
    {
        private readonly byte[] _body = Encoding.UTF8.GetBytes(text);
        private readonly TaskCompletionSource _finish = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Finish() => _finish.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            int half = _body.Length / 2;
            await stream.WriteAsync(_body.AsMemory(0, half));
            await stream.FlushAsync();
            await _finish.Task;
            await stream.WriteAsync(_body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
