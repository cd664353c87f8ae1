using Sharpserve.Abstractions;
using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>A real Sharpserve (Kestrel on 127.0.0.1:0) and an HttpClient pointed at it.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(SharpserveServer server)
    {
        Server = server;
        Client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public SharpserveServer Server { get; }

    public HttpClient Client { get; }

    public static string DataPath(params string[] parts) =>
        Path.Combine([AppContext.BaseDirectory, "data", .. parts]);

    /// <summary>The demo language-identification model, as committed.</summary>
    public static string DemoModelPath => DataPath("langid.bin");

    public static ServerOptions Options(int threads = 2) =>
        new() { Host = "127.0.0.1", Port = 0, Threads = threads, HttpWarmupRounds = 2 };

    public static async Task<TestServer> StartAsync(IModel model, ServerOptions? options = null, bool waitReady = true)
    {
        SharpserveServer server = await SharpserveServer.StartAsync(options ?? Options(), [model]);
        var testServer = new TestServer(server);
        if (waitReady)
        {
            await server.WhenReady;
        }

        return testServer;
    }

    public static async Task<TestServer> WrapAsync(SharpserveServer server)
    {
        await server.WhenReady;
        return new TestServer(server);
    }

    public static Task<TestServer> StartDemoAsync(ServerOptions? options = null) =>
        StartAsync(FastTextModel.Open(DemoModelPath, "langid"), options);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Server.DisposeAsync();
    }
}
