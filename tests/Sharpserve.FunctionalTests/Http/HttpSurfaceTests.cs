using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Backends.FastText;

namespace Sharpserve.FunctionalTests.Http;

/// <summary>
/// The HTTP surface's edges as a new user meets them: HEAD on every GET route, 405 with Allow, JSON bodies on the
/// answers Kestrel writes itself, the body limit on chunked bodies, and ?text= that is not UTF-8. Thread and
/// process mode share this surface; the process-mode cases check that it holds there too.
/// </summary>
public sealed class HttpSurfaceTests
{
    public static TheoryData<string> GetRoutes() =>
    [
        "/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/langid", "/v2/models/langid/versions/1",
        "/v2/models/langid/ready", "/v2/models/langid/versions/1/ready", "/status", "/metrics", "/labelservice/?text=Bonjour",
    ];

    [Theory]
    [MemberData(nameof(GetRoutes))]
    public async Task Head_AnswersLikeGet_WithoutABody(string route)
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        using HttpResponseMessage get = await server.Client.GetAsync(new Uri(route, UriKind.Relative));
        using HttpResponseMessage head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(route, UriKind.Relative)));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("PUT", "/v2/health/ready", "GET, HEAD")]
    [InlineData("DELETE", "/labelservice/", "GET, HEAD, POST")]
    [InlineData("GET", "/v2/models/langid/infer", "POST")]
    [InlineData("POST", "/status", "GET, HEAD")]
    public async Task WrongMethod_Is405_WithAllow_AndAJsonBody(string method, string route, string allow)
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        using HttpResponseMessage response = await server.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(route, UriKind.Relative)));

        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow.Order(StringComparer.Ordinal)));
        await HttpAssert.ErrorAsync(response, HttpStatusCode.MethodNotAllowed, $"method {method} is not allowed on {route.Split('?')[0]}");
    }

    [Fact]
    public async Task UnknownRoute_Is404Json()
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        using HttpResponseMessage response = await server.Client.GetAsync(new Uri("/v3/nothing", UriKind.Relative));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.NotFound, "no endpoint GET /v3/nothing");
    }

    public static TheoryData<string, int, string> KestrelRefusals() => new()
    {
        { "GET /" + new string('a', 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", 414, "longer than the limit of 8192 bytes" },
        { "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 40000) + "\r\n\r\n", 431, "headers are larger than the limit" },
        { "GET /v2 HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400, "malformed" },
        { "NOT HTTP AT ALL\r\n\r\n", 400, "malformed" },
        { "POST /labelservice/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400, "" },
    };

    [Theory]
    [MemberData(nameof(KestrelRefusals))]
    public async Task RequestsKestrelRefuses_GetTheSameJsonErrorBody(string request, int status, string message)
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        RawResponse response = await RawHttp.SendAsync(server.Server.Address, Encoding.ASCII.GetBytes(request));

        Assert.Equal(status, response.Status);
        Assert.Equal("application/json", response.Headers["Content-Type"]);
        Assert.Equal(Encoding.UTF8.GetByteCount(response.Body).ToString(System.Globalization.CultureInfo.InvariantCulture), response.Headers["Content-Length"]);
        using JsonDocument json = JsonDocument.Parse(response.Body);
        Assert.Contains(message, json.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        using HttpResponseMessage stillServing = await server.Client.GetAsync(new Uri("/v2/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, stillServing.StatusCode);
    }

    [Theory]
    [InlineData(50_000, 10, 64 * 1024, 200)] // 50,000 bytes in 10-byte chunks: ~75,000 on the wire, under the 64k limit
    [InlineData((1 << 20) - 100, 16 * 1024, 1 << 20, 200)] // 100 bytes under 1 MiB, as curl chunks it
    [InlineData((1 << 20) + 1, 16 * 1024, 1 << 20, 413)]
    [InlineData(65 * 1024, 1000, 64 * 1024, 413)]
    public async Task MaxBodySize_CountsTheBody_NotItsChunkedFraming(int bodyBytes, int chunkSize, long limit, int status)
    {
        await using TestServer server = await TestServer.StartAsync(
            FastTextModel.Open(TestServer.DemoModelPath, "langid"), TestServer.Options() with { MaxRequestBodyBytes = limit });
        byte[] body = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("Bonjour mes amis. ", (bodyBytes / 18) + 1)))[..bodyBytes];

        RawResponse response = await RawHttp.SendAsync(server.Server.Address, RawHttp.Chunked("/labelservice/", body, chunkSize));

        Assert.True(status == response.Status, $"{response.Status} {response.Body}");
        if (status == 413)
        {
            Assert.Equal("close", response.Headers["Connection"]);
            Assert.Contains($"larger than the limit of {limit} bytes (--max-body-size)", response.Body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("__label__fr", response.Body);
        }
    }

    [Fact]
    public async Task MaxBodySize_WithContentLength_Is413AtOnce()
    {
        await using TestServer server = await TestServer.StartAsync(
            FastTextModel.Open(TestServer.DemoModelPath, "langid"), TestServer.Options() with { MaxRequestBodyBytes = 1000 });

        using HttpResponseMessage response = await server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent(new byte[1001]));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "larger than the limit of 1000 bytes");
    }

    [Theory]
    [InlineData("%ff%fe", 400)]
    [InlineData("%C3%28", 400)] // a lead byte without its continuation
    [InlineData("Guten%20Morgen", 200)]
    [InlineData("Guten+Morgen", 200)]
    [InlineData("caf%C3%A9%20au%20lait%2C%20s%27il%20vous%20pla%C3%AEt", 200)]
    public async Task LabelServiceGet_TextThatIsNotUtf8_Is400(string encoded, int status)
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        using HttpResponseMessage response = await server.Client.GetAsync(new Uri($"/labelservice/?text={encoded}", UriKind.Relative));

        if (status == 400)
        {
            await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "?text= is not valid UTF-8");
        }
        else
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("__label__", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ProcessMode_HeadAnd405AndKestrelRefusals_AreTheSame()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();

        using HttpResponseMessage head = await server.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/v2/health/ready", UriKind.Relative)));
        using HttpResponseMessage wrong = await server.Client.DeleteAsync(new Uri("/v2/models/langid", UriKind.Relative));
        RawResponse refused = await RawHttp.SendAsync(server.Server.Address, Encoding.ASCII.GetBytes("GET /v2 HTTP/1.1\r\nBad header\r\n\r\n"));

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        await HttpAssert.ErrorAsync(wrong, HttpStatusCode.MethodNotAllowed, "method DELETE is not allowed");
        Assert.Equal(400, refused.Status);
        Assert.Equal("application/json", refused.Headers["Content-Type"]);
    }
}
