using System.Net;
using System.Text.Json;
using Sharpserve.Core.Scheduling;
using Sharpserve.Hosting;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>Readiness, overload, deadlines and shutdown, on the real server with a model whose timing the test controls.</summary>
public sealed class LifecycleTests
{
    private static Task<HttpResponseMessage> ClassifyAsync(TestServer server, string text) =>
        server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(text));

    [Fact]
    public async Task BeforeWarmupEnds_ReadyIs503_AndInferenceIs503WithRetryAfter()
    {
        var model = new FakeModel();
        using var warmupGate = new ManualResetEventSlim(false);
        model.WarmupGate = warmupGate;
        await using TestServer server = await TestServer.StartAsync(model, waitReady: false);

        using (HttpResponseMessage ready = await server.Client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative)))
        {
            using JsonDocument json = await HttpAssert.JsonAsync(ready, HttpStatusCode.ServiceUnavailable);
            Assert.False(json.RootElement.GetProperty("ready").GetBoolean());
        }

        using (HttpResponseMessage live = await server.Client.GetAsync(new Uri("/v2/health/live", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        using (HttpResponseMessage early = await ClassifyAsync(server, "hello"))
        {
            Assert.NotNull(early.Headers.RetryAfter);
            await HttpAssert.ErrorAsync(early, HttpStatusCode.ServiceUnavailable, "not ready");
        }

        using (HttpResponseMessage modelReady = await server.Client.GetAsync(new Uri("/v2/models/fake/ready", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, modelReady.StatusCode);
        }

        Assert.Equal(0, model.StartedCount);
        warmupGate.Set();
        await server.Server.WhenReady;

        using HttpResponseMessage after = await server.Client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        using HttpResponseMessage answer = await ClassifyAsync(server, "hello");
        Assert.Equal("hello", await answer.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task FullQueue_Answers503WithRetryAfterAtOnce()
    {
        var model = new FakeModel();
        using var gate = new ManualResetEventSlim(false);
        ServerOptions options = TestServer.Options(threads: 1) with { Scheduler = new SchedulerOptions { QueueCapacity = 1 } };
        await using TestServer server = await TestServer.StartAsync(model, options);
        model.PredictGate = gate;

        Task<HttpResponseMessage> running = ClassifyAsync(server, "first");
        await model.PredictStarted.WaitAsync();
        Task<HttpResponseMessage> queued = ClassifyAsync(server, "second");
        await WaitUntilAsync(() => server.Server.Registry.Default.Scheduler.QueuedCount == 1);

        using (HttpResponseMessage refused = await ClassifyAsync(server, "third"))
        {
            Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
            await HttpAssert.ErrorAsync(refused, HttpStatusCode.ServiceUnavailable, "capacity");
        }

        gate.Set();
        using HttpResponseMessage first = await running;
        using HttpResponseMessage second = await queued;
        Assert.Equal("first", await first.Content.ReadAsStringAsync());
        Assert.Equal("second", await second.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RequestPastDeadline_Answers504_AndServerKeepsServing()
    {
        var model = new FakeModel();
        using var gate = new ManualResetEventSlim(false);
        ServerOptions options = TestServer.Options(threads: 1) with
        {
            Scheduler = new SchedulerOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) },
        };
        await using TestServer server = await TestServer.StartAsync(model, options);
        model.PredictGate = gate;

        using (HttpResponseMessage late = await ClassifyAsync(server, "slow"))
        {
            await HttpAssert.ErrorAsync(late, HttpStatusCode.GatewayTimeout, "deadline");
        }

        gate.Set();
        using HttpResponseMessage next = await ClassifyAsync(server, "quick");
        Assert.Equal("quick", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task BackendException_Answers500Json_AndServerKeepsServing()
    {
        await using TestServer server = await TestServer.StartAsync(new FakeModel());

        using (HttpResponseMessage failed = await ClassifyAsync(server, FakeModel.ThrowText))
        {
            await HttpAssert.ErrorAsync(failed, HttpStatusCode.InternalServerError, "model failed");
        }

        using HttpResponseMessage next = await ClassifyAsync(server, "fine");
        Assert.Equal("fine", await next.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Stop_TurnsReadinessOff_FinishesInFlightRequest_ThenStopsListening()
    {
        var model = new FakeModel();
        using var gate = new ManualResetEventSlim(false);
        TestServer server = await TestServer.StartAsync(model);
        model.PredictGate = gate;
        Task<HttpResponseMessage> inFlight = ClassifyAsync(server, "in flight");
        await model.PredictStarted.WaitAsync();

        Task stopping = server.Server.StopAsync();
        // Through HTTP, as a load balancer sees it, while the request is still held: readiness is no longer 200.
        // Kestrel stops listening in the same step, so today a probe is mostly refused rather than answered 503.
        Assert.True(await WaitUntilNotReadyAsync(server.Server.Address), "/v2/health/ready kept answering 200 after StopAsync");
        Assert.False(inFlight.IsCompleted);
        gate.Set();
        using HttpResponseMessage answered = await inFlight;
        await stopping;

        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal("in flight", await answered.Content.ReadAsStringAsync());
        using var fresh = new HttpClient { BaseAddress = server.Server.Address };
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync(new Uri("/v2/health/live", UriKind.Relative)));
        await server.DisposeAsync();
        Assert.True(model.IsDisposed);
    }

    /// <summary>Polls /v2/health/ready on fresh connections until it answers anything but 200, or refuses; bounded (10 s).</summary>
    private static async Task<bool> WaitUntilNotReadyAsync(Uri address)
    {
        for (int i = 0; i < 1000; i++)
        {
            try
            {
                using var probe = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(10) };
                using HttpResponseMessage ready = await probe.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
                if (ready.StatusCode != HttpStatusCode.OK)
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                    return true;
                }
            }
            catch (HttpRequestException)
            {
                return true; // no longer listening
            }

            await Task.Delay(10);
        }

        return false;
    }

    /// <summary>Polls a condition the server reaches by itself (no sleep-as-synchronisation); fails after 10 s.</summary>
    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition not reached within 10 s");
    }

    [Fact]
    public async Task Stop_ReadinessAnswers503OverHttp_WhileARequestIsStillInFlight()
    {
        var model = new FakeModel();
        using var gate = new ManualResetEventSlim(false);
        TestServer server = await TestServer.StartAsync(model);
        model.PredictGate = gate;
        Task<HttpResponseMessage> inFlight = server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("x"));
        await model.PredictStarted.WaitAsync(TimeSpan.FromSeconds(30));

        Task stopping = server.Server.StopAsync();
        HttpStatusCode? seen = null;
        string? connection = null;
        for (int i = 0; i < 600 && seen != HttpStatusCode.ServiceUnavailable; i++)
        {
            // A new connection each time, as a load balancer's probe: the server still listens while it drains.
            using var probe = new HttpClient { BaseAddress = server.Server.Address };
            using HttpResponseMessage ready = await probe.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
            seen = ready.StatusCode;
            connection = ready.Headers.Connection.ToString();
            if (seen != HttpStatusCode.ServiceUnavailable)
            {
                await Task.Delay(50);
            }
        }

        bool stillInFlight = !inFlight.IsCompleted;
        gate.Set();
        using HttpResponseMessage answered = await inFlight;
        await stopping;
        await server.DisposeAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, seen);
        Assert.Equal("close", connection);
        Assert.True(stillInFlight, "the in-flight request was answered before readiness said 503");
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
    }
}
