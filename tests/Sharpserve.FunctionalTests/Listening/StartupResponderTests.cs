using System.Net;
using System.Net.Sockets;
using System.Text;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests.Listening;

/// <summary>
/// What answers the server's addresses while serve prepares its models: liveness 200, everything else 503, and the
/// addresses released for the server afterwards.
/// </summary>
public sealed class StartupResponderTests
{
    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task Liveness_Is200_EverythingElse503_AndTheAddressIsFreeAfterwards()
    {
        int port = FreePort();
        StartupResponder responder = StartupResponder.Start([ListenAddress.Tcp(IPAddress.Loopback, port)]);
        try
        {
            Assert.Single(responder.Bound);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };

            using (HttpResponseMessage live = await client.GetAsync(new Uri("/v2/health/live", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
                Assert.Equal("""{"live":true}""", await live.Content.ReadAsStringAsync());
            }

            using (var head = new HttpRequestMessage(HttpMethod.Head, "/v2/health/live?probe=1"))
            using (HttpResponseMessage live = await client.SendAsync(head))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            using (HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                Assert.Equal("1", ready.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal("""{"error":"the server is loading its models"}""", await ready.Content.ReadAsStringAsync());
            }

            using (HttpResponseMessage infer = await client.PostAsync(
                new Uri("/v2/models/langid/infer", UriKind.Relative), new StringContent("""{"inputs": []}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, infer.StatusCode);
            }

            using (HttpResponseMessage other = await client.GetAsync(new Uri("/v2/health/lively", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, other.StatusCode);
            }
        }
        finally
        {
            await responder.DisposeAsync();
        }

        // The server binds the address next, as Kestrel does (SO_REUSEADDR), right after the answered connections.
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        server.Bind(new IPEndPoint(IPAddress.Loopback, port));
        server.Listen();
    }

    [Fact]
    public async Task AFreePortOrAUnixSocket_IsLeftToTheServer()
    {
        await using StartupResponder responder = StartupResponder.Start(
            [ListenAddress.Tcp(IPAddress.Loopback, 0), ListenAddress.Unix(Path.Combine(Path.GetTempPath(), $"sharpserve-{Guid.NewGuid():N}.sock"))]);

        Assert.Empty(responder.Bound);
    }

    [Fact]
    public async Task AnAddressInUse_IsSkipped_ForTheServerToReport()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        await using StartupResponder responder = StartupResponder.Start([ListenAddress.Tcp(IPAddress.Loopback, port)]);

        Assert.Empty(responder.Bound);
    }

    [Theory]
    [InlineData("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n", 200)]
    [InlineData("GET /v2/health/live?x=1 HTTP/1.1\r\n\r\n", 200)]
    [InlineData("HEAD /v2/health/live HTTP/1.0\r\n\r\n", 200)]
    [InlineData("POST /v2/health/live HTTP/1.1\r\n\r\n", 503)]
    [InlineData("GET /v2/health/livez HTTP/1.1\r\n\r\n", 503)]
    [InlineData("GET /v2/health/ready HTTP/1.1\r\n\r\n", 503)]
    [InlineData("garbage", 503)]
    public void Answer_IsLiveForLivenessOnly(string request, int status)
    {
        string answer = Encoding.ASCII.GetString(StartupResponder.Answer(Encoding.ASCII.GetBytes(request)));

        Assert.StartsWith($"HTTP/1.1 {status} ", answer, StringComparison.Ordinal);
    }
}
