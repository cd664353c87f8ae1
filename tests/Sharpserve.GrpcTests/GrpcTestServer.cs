using System.Net;
using Grpc.Net.Client;
using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.GrpcTests;

/// <summary>A real Sharpserve in this process (HTTP and gRPC on 127.0.0.1, free ports) with a gRPC client and an HttpClient.</summary>
internal sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly GrpcChannel _channel;

    private GrpcTestServer(SharpserveServer server)
    {
        Server = server;
        _channel = GrpcChannel.ForAddress(server.GrpcAddress!, new GrpcChannelOptions { MaxReceiveMessageSize = null });
        Client = new GRPCInferenceService.GRPCInferenceServiceClient(_channel);
        Http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public SharpserveServer Server { get; }

    public GRPCInferenceService.GRPCInferenceServiceClient Client { get; }

    public HttpClient Http { get; }

    public static string DataPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "data", .. parts]);

    public static ServerOptions Options(int threads = 2) => new()
    {
        Host = "127.0.0.1",
        Port = 0,
        Threads = threads,
        HttpWarmupRounds = 2,
        GrpcListen = ListenAddress.Tcp(IPAddress.Loopback, 0),
    };

    public static async Task<GrpcTestServer> StartAsync(IModel model, ServerOptions? options = null, bool waitReady = true)
    {
        SharpserveServer server = await SharpserveServer.StartAsync(options ?? Options(), [model]);
        if (waitReady)
        {
            await server.WhenReady.WaitAsync(TimeSpan.FromSeconds(60));
        }

        return new GrpcTestServer(server);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        _channel.Dispose();
        await Server.DisposeAsync();
    }
}
