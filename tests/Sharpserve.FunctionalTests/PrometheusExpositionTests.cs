using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Metrics;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// GET /metrics is a valid Prometheus text exposition as a whole, read by the reference parser (prometheus_client,
/// <see cref="PrometheusReferenceParser"/>) and by <see cref="StrictExpositionReader"/>, on the real executable with
/// traffic (so request and latency series exist) in thread and process mode (so per-worker series exist), serving a
/// model whose name holds a double quote, a backslash and a line feed: <c>--name</c> takes any name without '/'.
/// </summary>
public sealed class PrometheusExpositionTests : IDisposable
{
    private const string OddName = "a\"b\\c\nd";

    /// <summary>Every family /metrics has, by the name prometheus_client gives it (a counter's without _total), and its type.</summary>
    private static readonly Dictionary<string, string> s_families = new()
    {
        ["sharpserve_http_requests"] = "counter",
        ["sharpserve_http_request_duration_seconds"] = "histogram",
        ["sharpserve_http_requests_in_flight"] = "gauge",
        ["sharpserve_model_ready"] = "gauge",
        ["sharpserve_queue_depth"] = "gauge",
        ["sharpserve_inferences"] = "counter",
        ["sharpserve_model_file_bytes"] = "gauge",
        ["sharpserve_worker_restarts"] = "counter",
        ["sharpserve_worker_private_dirty_bytes"] = "gauge",
        ["sharpserve_worker_private_dirty_growth_bytes"] = "gauge",
        ["sharpserve_worker_anonymous_bytes"] = "gauge",
        ["sharpserve_worker_mapped_model_bytes"] = "gauge",
        ["sharpserve_worker_pss_bytes"] = "gauge",
        ["sharpserve_worker_requests"] = "counter",
        ["sharpserve_process_anonymous_bytes"] = "gauge",
        ["sharpserve_process_private_dirty_bytes"] = "gauge",
        ["sharpserve_process_pss_bytes"] = "gauge",
    };

    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-exposition-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Theory]
    [InlineData("--threads 1", 0)]
    [InlineData("--workers 2", 2)]
    public async Task Metrics_AreAValidExposition_WithAModelNamedWithQuoteBackslashAndLineFeed(string mode, int workers)
    {
        await using ServedProcess served = await ServedProcess.StartAsync(
            $"--port 0 {mode}", _temp, new Dictionary<string, string> { ["SHARPSERVE_NAME"] = OddName });
        HttpClient client = served.Client;
        await WaitForReadyWorkersAsync(client, workers);
        await SendTrafficAsync(client);

        // Each request is recorded as its handling ends, just after its answer: wait until all are.
        string text = await ScrapeUntilAsync(client,
        [
            "sharpserve_http_requests_total{route=\"/labelservice/\",status=\"200\"} 5\n",
            "sharpserve_http_requests_total{route=\"/labelservice/\",status=\"400\"} 1\n",
            "sharpserve_http_requests_total{route=\"/v2/models/{name}/infer\",status=\"200\"} 1\n",
            "sharpserve_http_requests_total{route=\"/v2/models/{name}\",status=\"404\"} 1\n",
        ]);

        IReadOnlyList<ParsedFamily> reference = await PrometheusReferenceParser.ParseAsync(text);
        IReadOnlyList<ParsedFamily> strict = StrictExpositionReader.Read(text);

        Assert.Equal(s_families.Keys.Order(StringComparer.Ordinal), reference.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(reference, f => Assert.Equal(s_families[f.Name], f.Type));
        // Both readers see the same samples and HELP texts.
        Assert.Equal(
            strict.SelectMany(f => f.Samples).Select(s => s.Key).Order(StringComparer.Ordinal),
            reference.SelectMany(f => f.Samples).Select(s => s.Key).Order(StringComparer.Ordinal));
        Assert.Equal(strict.Select(f => f.Help).Order(StringComparer.Ordinal), reference.Select(f => f.Help).Order(StringComparer.Ordinal));

        foreach (string family in (string[])["sharpserve_model_ready", "sharpserve_queue_depth", "sharpserve_inferences", "sharpserve_model_file_bytes"])
        {
            ParsedSample sample = Assert.Single(Family(reference, family).Samples);
            Assert.Equal(OddName, sample.Labels["model"]);
            Assert.Equal("1", sample.Labels["version"]);
        }

        Assert.Equal(1, Assert.Single(Family(reference, "sharpserve_model_ready").Samples).Value);
        ParsedFamily latency = Family(reference, "sharpserve_http_request_duration_seconds");
        Assert.Equal(5, latency.Samples.Single(s => s.Name.EndsWith("_count", StringComparison.Ordinal) && s.Labels["route"] == "/labelservice/" && s.Labels["status"] == "200").Value);
        Assert.Contains(latency.Samples, s => s.Labels.GetValueOrDefault("le") == "+Inf");

        string[] perWorker = [.. s_families.Keys.Where(f => f.StartsWith("sharpserve_worker_", StringComparison.Ordinal) && f != "sharpserve_worker_restarts")];
        foreach (string family in perWorker)
        {
            IReadOnlyList<ParsedSample> samples = Family(reference, family).Samples;
            Assert.Equal(workers, samples.Count);
            Assert.All(samples, s =>
            {
                Assert.Equal(OddName, s.Labels["model"]);
                Assert.Equal("ready", s.Labels["state"]);
                Assert.True(int.Parse(s.Labels["pid"], System.Globalization.CultureInfo.InvariantCulture) > 0);
            });
        }

        Assert.Equal(workers == 0 ? 0 : 1, Family(reference, "sharpserve_worker_restarts").Samples.Count);
        if (workers > 0)
        {
            Assert.All(Family(reference, "sharpserve_worker_private_dirty_bytes").Samples, s => Assert.True(s.Value > 0));
        }
    }

    [Fact]
    public void Writer_EscapesEveryLabelValueAndHelp_SoTheStrictReaderGetsThemBack()
    {
        var writer = new PrometheusTextWriter();
        writer.Family("x_total", "counter", "Help with a \\ backslash\nand a line feed \"quoted\".");
        writer.Sample("x_total", 3, ("model", OddName), ("version", "1"));
        writer.Family("y_seconds", "histogram", "Latency.");
        writer.Sample("y_seconds_bucket", 1, ("route", "/r\"\\\n"), ("le", PrometheusTextWriter.FormatValue(0.5)));
        writer.Sample("y_seconds_bucket", 2, ("route", "/r\"\\\n"), ("le", PrometheusTextWriter.FormatValue(double.PositiveInfinity)));
        writer.Sample("y_seconds_sum", 0.75, ("route", "/r\"\\\n"));
        writer.Sample("y_seconds_count", 2, ("route", "/r\"\\\n"));

        IReadOnlyList<ParsedFamily> read = StrictExpositionReader.Read(writer.ToString());

        Assert.Equal("Help with a \\ backslash\nand a line feed \"quoted\".", read[0].Help);
        Assert.Equal(OddName, Assert.Single(read[0].Samples).Labels["model"]);
        Assert.All(read[1].Samples, s => Assert.Equal("/r\"\\\n", s.Labels["route"]));
        Assert.Equal(@"a\""b\\c\nd", PrometheusTextWriter.EscapeLabelValue(OddName));
    }

    [Fact]
    public void Writer_RefusesAFamilyTwice_AndASampleOutsideItsFamily()
    {
        var writer = new PrometheusTextWriter();
        writer.Family("x", "gauge", "X.");

        Assert.Throws<InvalidOperationException>(() => writer.Sample("y", 1));
        Assert.Throws<InvalidOperationException>(() => writer.Family("x", "gauge", "X again."));
    }

    /// <summary>What the strict reader refuses: each is valid for prometheus_client's parser or invalid for both.</summary>
    [Theory]
    [InlineData("# TYPE x gauge\nx{model=\"a\"b\"} 1\n", "labels not separated")]
    [InlineData("# TYPE x gauge\nx{model=\"a\\tb\"} 1\n", "unknown escape")]
    [InlineData("# HELP x X.\n# HELP x X.\n# TYPE x gauge\nx 1\n", "second HELP")]
    [InlineData("# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a=\"b\"} 2\n", "not in its family's block")]
    [InlineData("# TYPE x gauge\nx 1\nx 2\n", "given twice")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "not cumulative")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", "+Inf")]
    [InlineData("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n", "equal to _count")]
    public void StrictReader_RefusesWhatAnInvalidExpositionHolds(string text, string reason)
    {
        FormatException refused = Assert.Throws<FormatException>(() => StrictExpositionReader.Read(text));
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Five classifications, an empty body (400), one OIP inference at the model's own URL, and an unknown model (404).</summary>
    private static async Task SendTrafficAsync(HttpClient client)
    {
        for (int i = 0; i < 5; i++)
        {
            using HttpResponseMessage ok = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("Bonjour, je voudrais un café"));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (HttpResponseMessage empty = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent([])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        }

        using (HttpResponseMessage infer = await client.PostAsync(
            new Uri($"/v2/models/{Uri.EscapeDataString(OddName)}/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["Guten Morgen"]}]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, infer.StatusCode);
        }

        using HttpResponseMessage unknown = await client.GetAsync(new Uri("/v2/models/no-such-model", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    /// <summary>Scrapes until the exposition holds every one of <paramref name="lines"/>; fails after 30 s.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient client, string[] lines)
    {
        string text = "";
        for (int i = 0; i < 600; i++)
        {
            using HttpResponseMessage response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
            text = await response.Content.ReadAsStringAsync();
            if (lines.All(line => text.Contains(line, StringComparison.Ordinal)))
            {
                return text;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"/metrics did not count the test's requests within 30 s:\n{text}");
        return text;
    }

    /// <summary>Polls GET /status until the model has <paramref name="count"/> Ready workers (none in thread mode); bounded.</summary>
    private static async Task WaitForReadyWorkersAsync(HttpClient client, int count)
    {
        for (int i = 0; i < 600; i++)
        {
            using JsonDocument status = JsonDocument.Parse(await client.GetStringAsync(new Uri("/status", UriKind.Relative)));
            JsonElement model = status.RootElement.GetProperty("models")[0];
            int ready = model.TryGetProperty("workers", out JsonElement workers)
                ? workers.EnumerateArray().Count(w => w.GetProperty("state").GetString() == "ready")
                : 0;
            if (ready == count && (!model.TryGetProperty("workers", out _) || workers.GetArrayLength() == count))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{count} workers were not ready within 30 s");
    }

    private static ParsedFamily Family(IReadOnlyList<ParsedFamily> families, string name) =>
        families.SingleOrDefault(f => f.Name == name) ?? throw new Xunit.Sdk.XunitException($"no family {name}");
}
