using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;
using Sharpserve.FunctionalTests;

namespace Sharpserve.GrpcTests;

/// <summary>gRPC over the other ways models are served: a model repository's versions and a Python model's workers.</summary>
public sealed class GrpcModelSourcesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-grpc-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static ModelInferRequest TextRequest(string model, string input, string text, string version = "")
    {
        var request = new ModelInferRequest { ModelName = model, ModelVersion = version };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "BYTES" };
        tensor.Shape.Add(1);
        request.Inputs.Add(tensor);
        request.RawInputContents.Add(GrpcTensors.Raw("BYTES", [JsonSerializer.SerializeToElement(text)]));
        return request;
    }

    [Fact]
    public async Task ModelRepository_EveryVersion_ByNameAndVersion()
    {
        string repository = Path.Combine(_directory, "repo");
        foreach (string version in new[] { "1", "2" })
        {
            Directory.CreateDirectory(Path.Combine(repository, "langid", version));
            File.Copy(GrpcTestServer.DataPath("langid.bin"), Path.Combine(repository, "langid", version, "model.bin"));
        }

        File.WriteAllText(Path.Combine(repository, "langid", "config.json"), """{"version_policy": {"all": {}}}""");
        using SharpserveProcess process = SharpserveProcess.Start($"serve --model-repository \"{repository}\" --port 0 --threads 1", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(http);
        using GrpcChannel channel = GrpcChannel.ForAddress(await process.WaitForGrpcAddressAsync());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);

        Assert.Equal(["1", "2"], (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "langid" })).Versions);
        Assert.Equal(["1"], (await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "langid", Version = "1" })).Versions);
        Assert.Equal("2", (await client.ModelInferAsync(TextRequest("langid", "text", "hello world"))).ModelVersion);
        Assert.Equal("1", (await client.ModelInferAsync(TextRequest("langid", "text", "hello world", version: "1"))).ModelVersion);
        RpcException missing = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(TextRequest("langid", "text", "x", version: "3")).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
        Assert.Equal("model 'langid' has no version '3' (versions: 1, 2)", missing.Status.Detail);
    }

    [Fact]
    public async Task PythonModel_AnswersAsOverHttp()
    {
        string model = Path.Combine(AppContext.BaseDirectory, "data", "python", "dict_model");
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --python model:Model --python-path \"{model}\" --python-exe /usr/bin/python3 --workers 1 --port 0", _directory);
        using var http = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(http);
        using GrpcChannel channel = GrpcChannel.ForAddress(await process.WaitForGrpcAddressAsync());
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        ModelMetadataResponse metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "model" });
        string input = metadata.Inputs[0].Name;

        ModelInferResponse answer = await client.ModelInferAsync(TextRequest("model", input, "cat"));

        var body = new { inputs = new[] { new { name = input, datatype = "BYTES", shape = new[] { 1 }, data = new[] { "cat" } } } };
        using HttpResponseMessage httpAnswer = await http.PostAsJsonAsync(new Uri("/v2/models/model/infer", UriKind.Relative), body);
        using JsonDocument expected = JsonDocument.Parse(await httpAnswer.Content.ReadAsStringAsync());
        JsonElement label = expected.RootElement.GetProperty("outputs")[0];
        Assert.Equal(label.GetProperty("name").GetString(), answer.Outputs[0].Name);
        Assert.Equal([label.GetProperty("data")[0].GetString()!], GrpcTensors.ReadRaw("BYTES", answer.RawOutputContents[0]).Cast<string>());
        Assert.Equal("animal", label.GetProperty("data")[0].GetString());

        // The model's own refusal (BadInput from Python) is INVALID_ARGUMENT.
        var bad = new ModelInferRequest { ModelName = "model" };
        var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input, Datatype = "BYTES" };
        tensor.Shape.Add(1);
        bad.Inputs.Add(tensor);
        bad.RawInputContents.Add(ByteString.CopyFrom(2, 0, 0, 0, 0xff, 0xfe));
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => client.ModelInferAsync(bad).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }
}
