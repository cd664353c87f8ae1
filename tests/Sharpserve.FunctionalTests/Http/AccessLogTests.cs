using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Sharpserve.Backends.FastText;
using Sharpserve.Http;

namespace Sharpserve.FunctionalTests.Http;

/// <summary>The access log, field by field, in both formats and both modes, behind trusted and untrusted proxies.</summary>
public sealed partial class AccessLogTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-access-").FullName;

    private string LogPath => Path.Combine(_directory, "access.log");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Combined_HasGunicornsFields_ThenDurationAndModel()
    {
        string body;
        await using (TestServer server = await StartAsync(AccessLogFormat.Combined))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/labelservice/?k=2", UriKind.Relative))
            {
                Content = new StringContent("Bonjour, je voudrais un café"),
            };
            request.Headers.UserAgent.ParseAdd("probe/1.0");
            request.Headers.Referrer = new Uri("http://example.test/page");
            using HttpResponseMessage response = await server.Client.SendAsync(request);
            body = await response.Content.ReadAsStringAsync();
            using HttpResponseMessage missing = await server.Client.GetAsync(new Uri("/nothing?x=1", UriKind.Relative));
        }

        string[] lines = await File.ReadAllLinesAsync(LogPath);
        Assert.Equal(2, lines.Length); // the server's own warm-up requests are not logged
        Match first = CombinedLine().Match(lines[0]);
        Assert.True(first.Success, lines[0]);
        Assert.Equal("127.0.0.1", first.Groups["client"].Value);
        DateTime time = DateTime.ParseExact(first.Groups["time"].Value, "dd/MMM/yyyy:HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);
        Assert.InRange(time, DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow.AddMinutes(1)); // UTC, the request's own time
        Assert.Equal("POST /labelservice/?k=2 HTTP/1.1", first.Groups["request"].Value);
        Assert.Equal("200", first.Groups["status"].Value);
        Assert.Equal(Encoding.UTF8.GetByteCount(body).ToString(CultureInfo.InvariantCulture), first.Groups["bytes"].Value);
        Assert.Equal("http://example.test/page", first.Groups["referer"].Value);
        Assert.Equal("probe/1.0", first.Groups["agent"].Value);
        Assert.True(double.Parse(first.Groups["duration"].Value, CultureInfo.InvariantCulture) >= 0);
        Assert.Equal("langid/1", first.Groups["model"].Value);

        Match second = CombinedLine().Match(lines[1]);
        Assert.True(second.Success, lines[1]);
        Assert.Equal("GET /nothing?x=1 HTTP/1.1", second.Groups["request"].Value);
        Assert.Equal("404", second.Groups["status"].Value);
        Assert.Equal("-", second.Groups["referer"].Value);
        Assert.Equal("-", second.Groups["model"].Value);
    }

    [Fact]
    public async Task Json_HasTheSameFieldsByName()
    {
        await using (TestServer server = await StartAsync(AccessLogFormat.Json))
        {
            using var infer = new StringContent("""{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["Guten Morgen"]}]}""", Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await server.Client.PostAsync(new Uri("/v2/models/langid/infer", UriKind.Relative), infer);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using HttpResponseMessage head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/v2/health/ready", UriKind.Relative)));
        }

        string[] lines = await File.ReadAllLinesAsync(LogPath);
        Assert.Equal(2, lines.Length);
        using JsonDocument first = JsonDocument.Parse(lines[0]);
        JsonElement line = first.RootElement;
        Assert.Equal("127.0.0.1", line.GetProperty("client").GetString());
        Assert.Equal("POST", line.GetProperty("method").GetString());
        Assert.Equal("/v2/models/langid/infer", line.GetProperty("path").GetString());
        Assert.Equal("", line.GetProperty("query").GetString());
        Assert.Equal("HTTP/1.1", line.GetProperty("protocol").GetString());
        Assert.Equal("http", line.GetProperty("scheme").GetString());
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.True(line.GetProperty("bytes").GetInt64() > 0);
        Assert.True(line.GetProperty("duration_seconds").GetDouble() >= 0);
        Assert.Equal("langid", line.GetProperty("model").GetString());
        Assert.Equal("1", line.GetProperty("model_version").GetString()); // the highest version, which served it
        Assert.True(DateTime.TryParse(line.GetProperty("time").GetString(), CultureInfo.InvariantCulture, out _));
        using JsonDocument second = JsonDocument.Parse(lines[1]);
        Assert.Equal("HEAD", second.RootElement.GetProperty("method").GetString());
        Assert.Equal(0, second.RootElement.GetProperty("bytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, second.RootElement.GetProperty("model").ValueKind);
    }

    [Theory]
    [InlineData("127.0.0.1,::1", "203.0.113.7", "https", "203.0.113.7", "https")] // the default: loopback is trusted
    [InlineData("10.0.0.1", "203.0.113.7", "https", "127.0.0.1", "http")] // the peer is not trusted: headers ignored
    [InlineData("127.0.0.1,10.0.0.0/8", "198.51.100.1, 10.1.2.3", "https, http", "198.51.100.1", "https")] // a trusted chain
    [InlineData("127.0.0.1,10.0.0.0/8", "198.51.100.1, 203.0.113.9", "https, http", "203.0.113.9", "http")] // stops at the first untrusted hop
    [InlineData("*", "[2001:db8::5]:4711", "", "2001:db8::5", "http")]
    [InlineData("127.0.0.1", "not-an-address", "", "127.0.0.1", "http")]
    public async Task Client_FollowsForwardedHeaders_OnlyFromTrustedPeers(string allow, string forwardedFor, string proto, string client, string scheme)
    {
        Assert.True(TrustedProxies.TryParse(allow, out TrustedProxies? proxies, out _));
        await using (TestServer server = await StartAsync(AccessLogFormat.Json, proxies))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v2/health/live", UriKind.Relative));
            request.Headers.Add("X-Forwarded-For", forwardedFor);
            if (proto.Length > 0)
            {
                request.Headers.Add("X-Forwarded-Proto", proto);
            }

            using HttpResponseMessage response = await server.Client.SendAsync(request);
        }

        using JsonDocument line = JsonDocument.Parse(Assert.Single(await File.ReadAllLinesAsync(LogPath)));
        Assert.Equal(client, line.RootElement.GetProperty("client").GetString());
        Assert.Equal(scheme, line.RootElement.GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Combined_EscapesQuotesAndControlCharacters_SoALineStaysOneLine()
    {
        await using (TestServer server = await StartAsync(AccessLogFormat.Combined))
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/v2/health/live", UriKind.Relative));
            request.Headers.TryAddWithoutValidation("User-Agent", "evil\" \"agent\\");
            using HttpResponseMessage response = await server.Client.SendAsync(request);
        }

        string line = Assert.Single(await File.ReadAllLinesAsync(LogPath));
        Assert.Contains(" \"-\" \"evil\\x22 \\x22agent\\x5C\" ", line, StringComparison.Ordinal);
        Assert.True(CombinedLine().IsMatch(line), line);
    }

    [Fact]
    public async Task Lines_ReachTheFileWhileTheServerRuns_NotOnlyAtExit()
    {
        await using TestServer server = await StartAsync(AccessLogFormat.Combined);
        using (HttpResponseMessage response = await server.Client.GetAsync(new Uri("/v2/health/live?while-running", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The writer batches lines for a short window; `tail -f` must still see each request soon after it.
        await WaitForAsync(
            () => File.Exists(LogPath) && ReadShared(LogPath).Contains("/v2/health/live?while-running", StringComparison.Ordinal),
            "the line in the file while the server runs");
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [Fact]
    public async Task ProcessMode_LogsEachRequest_WithItsModel()
    {
        string path = LogPath;
        await using (ProcessModeServer server = await ProcessModeServer.StartAsync(
            configureServer: o => o with { AccessLog = new AccessLogOptions(path, AccessLogFormat.Combined) }))
        {
            for (int i = 0; i < 5; i++)
            {
                using HttpResponseMessage response = await server.ClassifyAsync("Buongiorno, vorrei un caffè");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        string[] lines = await File.ReadAllLinesAsync(path);
        Assert.Equal(5, lines.Length);
        Assert.All(lines, l => Assert.Equal("langid/1", CombinedLine().Match(l).Groups["model"].Value));
    }

    [Fact]
    public async Task Executable_WritesJsonToStandardOutput_AndReopensTheFileOnSigusr1()
    {
        using (SharpserveProcess stdout = SharpserveProcess.Start("serve --port 0 --access-log - --access-log-format json", _directory))
        {
            using var client = new HttpClient { BaseAddress = await stdout.WaitForAddressAsync() };
            await SharpserveProcess.WaitForReadyAsync(client);
            stdout.SendSignal(15);
            Assert.Equal(0, await stdout.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("\"path\":\"/v2/health/ready\"", stdout.StandardOutput, StringComparison.Ordinal);
        }

        using SharpserveProcess process = SharpserveProcess.Start($"serve --port 0 --access-log \"{LogPath}\"", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync() };
        await SharpserveProcess.WaitForReadyAsync(http);
        string rotated = LogPath + ".1";
        File.Move(LogPath, rotated);
        process.SendSignal(10); // SIGUSR1, as logrotate's postrotate sends it
        await WaitForAsync(() => process.StandardOutput.Contains("reopened", StringComparison.Ordinal), "the reopen log line");
        using (HttpResponseMessage after = await http.GetAsync(new Uri("/v2/health/live?after", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("/v2/health/ready", await File.ReadAllTextAsync(rotated), StringComparison.Ordinal);
        string fresh = await File.ReadAllTextAsync(LogPath);
        Assert.Contains("/v2/health/live?after", fresh, StringComparison.Ordinal);
        Assert.DoesNotContain("/v2/health/ready", fresh, StringComparison.Ordinal);
    }

    private async Task<TestServer> StartAsync(AccessLogFormat format, TrustedProxies? proxies = null) =>
        await TestServer.StartAsync(
            FastTextModel.Open(TestServer.DemoModelPath, "langid"),
            TestServer.Options() with
            {
                AccessLog = new AccessLogOptions(LogPath, format),
                ForwardedAllowIps = proxies ?? TrustedProxies.Loopback,
            });

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        for (int i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), $"not within 30 s: {what}");
    }

    [GeneratedRegex("""^(?<client>\S+) - - \[(?<time>\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d) \+0000\] "(?<request>[^"]*)" (?<status>\d{3}) (?<bytes>\d+|-) "(?<referer>[^"]*)" "(?<agent>[^"]*)" (?<duration>\d+\.\d{6}) (?<model>\S+)$""")]
    private static partial Regex CombinedLine();
}
