using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using Inference;
using Sharpserve.FunctionalTests;

namespace Sharpserve.GrpcTests;

/// <summary>The real executable: --grpc-port, process mode, and a port in use.</summary>
public sealed class GrpcCommandLineTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-grpc-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task ProcessMode_ServesGrpc_OnAFreePortWhenTheHttpPortIsZero()
    {
        // SHARPSERVE_GRPC_PORT unset (""): the default itself, which follows --port 0.
        using SharpserveProcess process = SharpserveProcess.Start(
            "serve --port 0 --workers 1", _directory, environment: new Dictionary<string, string> { ["SHARPSERVE_GRPC_PORT"] = "" });
        Uri http = await process.WaitForAddressAsync();
        Uri grpc = await process.WaitForGrpcAddressAsync();
        Assert.NotEqual(8001, grpc.Port);
        Assert.NotEqual(http.Port, grpc.Port);
        using var httpClient = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(httpClient);
        using GrpcChannel channel = GrpcChannel.ForAddress(grpc);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        var request = new ModelInferRequest { ModelName = "langid" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Contents = new InferTensorContents() };
        input.Shape.Add(1);
        input.Contents.BytesContents.Add(Google.Protobuf.ByteString.CopyFromUtf8("das ist ein kleiner Test"));
        request.Inputs.Add(input);
        ModelInferResponse response = await client.ModelInferAsync(request);

        Assert.Equal("label", response.Outputs[0].Name);
        Assert.Single(GrpcTensors.ReadRaw("BYTES", response.RawOutputContents[0]));
    }

    [Fact]
    public async Task GrpcPortInUse_IsOneLineNamingTheFlag_AndExit1()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync($"serve --port 0 --grpc-port {port}", cacheDir: _directory);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"sharpserve: error: cannot listen on http://127.0.0.1:{port}: the port is already in use (another server runs there; pick another with --grpc-port, or turn gRPC off with --grpc-port off)",
            stderr.Trim());
    }

    [Fact]
    public async Task GrpcPortOff_ServesNoGrpc()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --port 0 --grpc-port off", _directory);
        Uri http = await process.WaitForAddressAsync();
        using var httpClient = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(httpClient);

        Assert.DoesNotContain("gRPC", process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve --grpc-port 70000", "--grpc-port must be an integer from 0 to 65535, or 'off', got '70000'")]
    [InlineData("serve --port 0 --grpc-port nope", "--grpc-port must be an integer from 0 to 65535, or 'off', got 'nope'")]
    public async Task BadGrpcPort_IsAUsageError(string arguments, string message)
    {
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _directory);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadGrpcPortVariable_NamesTheVariable()
    {
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(
            "serve --port 0", cacheDir: _directory, environment: new Dictionary<string, string> { ["SHARPSERVE_GRPC_PORT"] = "x" });

        Assert.Equal(2, exitCode);
        Assert.Contains("SHARPSERVE_GRPC_PORT must be an integer from 0 to 65535, or 'off', got 'x'", stderr, StringComparison.Ordinal);
    }
}
