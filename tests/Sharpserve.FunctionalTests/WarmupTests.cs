using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Warm before ready (docs/architecture.md): the server's own requests walk the gRPC path and many-row requests
/// before ready.
/// </summary>
public sealed partial class WarmupTests
{
    /// <summary>The ready line.</summary>
    private static async Task<string> StartAndReadReadyLineAsync(ServerOptions options)
    {
        var log = new LogCapture();
        SharpserveServer server = await SharpserveServer.StartAsync(
            options, [new ModelSource(FastTextModel.Open(TestServer.DemoModelPath, "langid"))], logging => logging.AddProvider(log));
        await using (server)
        {
            await server.WhenReady.WaitAsync(TimeSpan.FromSeconds(60));
            return await log.WaitForLineAsync(l => l.Contains("[3002]", StringComparison.Ordinal), "the ready line");
        }
    }

    [Fact]
    public async Task WithGrpcOn_EachRoundAlsoInfersOverGrpc()
    {
        ServerOptions http = TestServer.Options();

        string ready = await StartAndReadReadyLineAsync(http with { GrpcListen = ListenAddress.Tcp(IPAddress.Loopback, 0) });
        Match grpc = ReadyGrpcCalls().Match(ready);
        Assert.True(grpc.Success, ready);
        int calls = int.Parse(grpc.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        // HttpWarmupRounds = 2 rounds exactly (WarmupBudget's minimum); each calls ModelInfer with the demo model's
        // warm-up request, and again with it widened to many rows unless the model answered slowly. A call that failed
        // would have failed the warm-up.
        Assert.InRange(calls, http.HttpWarmupRounds, 2 * http.HttpWarmupRounds);
    }

    [Fact]
    public async Task WithGrpcOff_TheReadyLineCountsHttpOnly() =>
        Assert.DoesNotContain("gRPC", await StartAndReadReadyLineAsync(TestServer.Options()), StringComparison.Ordinal);

    [GeneratedRegex(@"warm-up requests through HTTP, (\d+) through gRPC\)")]
    private static partial Regex ReadyGrpcCalls();
}
