using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Sharpserve.FunctionalTests;

namespace Sharpserve.GrpcTests;

/// <summary>
/// Triton's repository RPCs on the real executable: the index always; load and unload only with
/// --model-control explicit and the admin token in the call's metadata, as over HTTP.
/// </summary>
public sealed class GrpcRepositoryTests : IDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-grpc-repo-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Repository()
    {
        string repository = Path.Combine(_directory, "repo");
        Directory.CreateDirectory(Path.Combine(repository, "langid", "1"));
        File.Copy(GrpcTestServer.DataPath("langid.bin"), Path.Combine(repository, "langid", "1", "model.bin"));
        return repository;
    }

    private static Metadata Bearer(string token) => new() { { "authorization", $"Bearer {token}" } };

    [Fact]
    public async Task WithoutModelControl_TheIndexAnswers_AndLoadIsPermissionDenied()
    {
        using SharpserveProcess process = SharpserveProcess.Start($"serve --model-repository \"{Repository()}\" --port 0 --threads 1", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(http);
        using GrpcChannel channel = GrpcChannel.ForAddress(await process.WaitForGrpcAddressAsync());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        RepositoryIndexResponse index = await client.RepositoryIndexAsync(new RepositoryIndexRequest());
        RepositoryIndexResponse.Types.ModelIndex entry = Assert.Single(index.Models);
        Assert.Equal(("langid", "1", "READY"), (entry.Name, entry.Version, entry.State));
        RpcException refused = await Assert.ThrowsAsync<RpcException>(
            () => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "langid" }, Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        Assert.Contains("--model-control explicit", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("model_repository", (await client.ServerMetadataAsync(new ServerMetadataRequest())).Extensions);
    }

    [Fact]
    public async Task Explicit_UnloadAndLoad_NeedTheToken_AndChangeWhatServes()
    {
        string tokenFile = Path.Combine(_directory, "token");
        File.WriteAllText(tokenFile, Token);
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{Repository()}\" --port 0 --threads 1 --model-control explicit --admin-token-file \"{tokenFile}\"", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(http);
        using GrpcChannel channel = GrpcChannel.ForAddress(await process.WaitForGrpcAddressAsync());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        RpcException noToken = await Assert.ThrowsAsync<RpcException>(
            () => client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "langid" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        RpcException wrongToken = await Assert.ThrowsAsync<RpcException>(
            () => client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "langid" }, Bearer(Token + "x")).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, wrongToken.StatusCode);
        RpcException path = await Assert.ThrowsAsync<RpcException>(
            () => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "../langid" }, Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, path.StatusCode);
        var withFile = new RepositoryModelLoadRequest { ModelName = "langid" };
        withFile.Parameters.Add("file:1/model.bin", new ModelRepositoryParameter { BytesParam = Google.Protobuf.ByteString.CopyFromUtf8("x") });
        RpcException file = await Assert.ThrowsAsync<RpcException>(() => client.RepositoryModelLoadAsync(withFile, Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, file.StatusCode);
        RpcException unknown = await Assert.ThrowsAsync<RpcException>(
            () => client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "nope" }, Bearer(Token)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        await client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "langid" }, Bearer(Token));
        RpcException gone = await Assert.ThrowsAsync<RpcException>(() => client.ModelReadyAsync(new ModelReadyRequest { Name = "langid" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        RepositoryIndexResponse unloaded = await client.RepositoryIndexAsync(new RepositoryIndexRequest());
        Assert.NotEqual("READY", Assert.Single(unloaded.Models).State);
        Assert.Empty((await client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true })).Models);

        await client.RepositoryModelLoadAsync(new RepositoryModelLoadRequest { ModelName = "langid" }, Bearer(Token));
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "langid" })).Ready);
        Assert.Equal("READY", Assert.Single((await client.RepositoryIndexAsync(new RepositoryIndexRequest { Ready = true })).Models).State);
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Unload_WaitsForAGrpcInferInFlight_ThenTheModelIsGone()
    {
        string gate = Path.Combine(_directory, "gate");
        string repository = Repository();
        Directory.CreateDirectory(Path.Combine(repository, "slow", "1"));
        File.WriteAllText(Path.Combine(repository, "slow", "config.json"), """{"backend": "python"}""");
        File.WriteAllText(Path.Combine(repository, "slow", "1", "model.py"), $$"""
            import os, time
            class Model:
                def predict(self, data):
                    if data in (b"slow", "slow"):
                        print("slow request started", flush=True)
                        while not os.path.exists({{System.Text.Json.JsonSerializer.Serialize(gate)}}):
                            time.sleep(0.01)
                    return "done"
            """.ReplaceLineEndings("\n"));
        string tokenFile = Path.Combine(_directory, "token");
        File.WriteAllText(tokenFile, Token);
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{repository}\" --port 0 --threads 1 --model-control explicit --admin-token-file \"{tokenFile}\" " +
            "--python-exe /usr/bin/python3", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(http);
        using GrpcChannel channel = GrpcChannel.ForAddress(await process.WaitForGrpcAddressAsync());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        var infer = new ModelInferRequest { ModelName = "slow" };
        var text = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Shape = { 1 } };
        text.Contents = new InferTensorContents { BytesContents = { Google.Protobuf.ByteString.CopyFromUtf8("slow") } };
        infer.Inputs.Add(text);

        AsyncUnaryCall<ModelInferResponse> inFlight = client.ModelInferAsync(infer);
        await process.WaitForOutputAsync("slow request started");
        AsyncUnaryCall<RepositoryModelUnloadResponse> unload =
            client.RepositoryModelUnloadAsync(new RepositoryModelUnloadRequest { ModelName = "slow" }, Bearer(Token));
        await process.WaitForOutputAsync("Unloading model 'slow'");

        RpcException gone = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(infer).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, gone.StatusCode);
        Assert.False(unload.ResponseAsync.IsCompleted); // it waits for the call the model is running

        File.WriteAllText(gate, "");
        ModelInferResponse answer = await inFlight.ResponseAsync;
        Assert.Equal("label", Assert.Single(answer.Outputs).Name);
        Assert.Equal("done", System.Text.Encoding.UTF8.GetString(answer.RawOutputContents[0].Span[4..])); // one BYTES element, length-prefixed
        await unload.ResponseAsync;
        Assert.NotEqual("READY", (await client.RepositoryIndexAsync(new RepositoryIndexRequest())).Models.Single(m => m.Name == "slow").State);
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
