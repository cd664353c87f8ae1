using System.Net;
using System.Text.RegularExpressions;

namespace Sharpserve.FunctionalTests;

public sealed partial class MetricsTests
{
    [Fact]
    public async Task Metrics_CountRequestsByRouteAndStatus_AndReportModelState()
    {
        await using TestServer server = await TestServer.StartDemoAsync();
        for (int i = 0; i < 3; i++)
        {
            using HttpResponseMessage ok = await server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("Bonjour"));
        }

        using (HttpResponseMessage bad = await server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent([])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using HttpResponseMessage response = await server.Client.GetAsync(new Uri("/metrics", UriKind.Relative));
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("3", Sample(text, "sharpserve_http_requests_total{route=\"/labelservice/\",status=\"200\"}"));
        Assert.Equal("1", Sample(text, "sharpserve_http_requests_total{route=\"/labelservice/\",status=\"400\"}"));
        Assert.Equal("3", Sample(text, "sharpserve_http_request_duration_seconds_count{route=\"/labelservice/\",status=\"200\"}"));
        Assert.Equal("1", Sample(text, "sharpserve_model_ready{model=\"langid\",version=\"1\"}"));
        Assert.Equal("0", Sample(text, "sharpserve_queue_depth{model=\"langid\",version=\"1\"}"));
        Assert.True(long.Parse(Sample(text, "sharpserve_process_anonymous_bytes"), System.Globalization.CultureInfo.InvariantCulture) > 0);
    }

    [Fact]
    public async Task Metrics_InProcessMode_ReportEachWorkersMemory()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();

        using HttpResponseMessage response = await server.Client.GetAsync(new Uri("/metrics", UriKind.Relative));
        string text = await response.Content.ReadAsStringAsync();

        Assert.Equal(2, WorkerAnonymous().Matches(text).Count);
        Assert.Equal("0", Sample(text, "sharpserve_worker_restarts_total{model=\"langid\",version=\"1\"}"));
    }

    private static string Sample(string text, string series)
    {
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return line[(series.Length + 1)..];
            }
        }

        Assert.Fail($"no sample {series} in:\n{text}");
        return "";
    }

    [GeneratedRegex(@"^sharpserve_worker_anonymous_bytes\{model=""langid"",version=""1"",worker=""\d+"",pid=""\d+"",state=""ready""\} [1-9]\d*$", RegexOptions.Multiline)]
    private static partial Regex WorkerAnonymous();
}
