using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Inference;
using Sharpserve.Backends.FastText;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.GrpcTests;

/// <summary>Every method of inference.GRPCInferenceService on a real server, through a client generated from the same proto.</summary>
public sealed class GrpcServiceTests
{
    private static readonly string[] s_texts = ["the cat sat on the mat", "le chat est assis sur le tapis", "der Hund schläft im Garten"];

    private static Task<GrpcTestServer> StartDemoAsync(Hosting.ServerOptions? options = null) =>
        GrpcTestServer.StartAsync(FastTextModel.Open(GrpcTestServer.DataPath("langid.bin"), "langid"), options);

    private static ModelInferRequest TextRequest(string model, IReadOnlyList<string> texts, bool raw)
    {
        var request = new ModelInferRequest { ModelName = model, Id = "req-1" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES" };
        input.Shape.Add(texts.Count);
        List<JsonElement> values = JsonSerializer.SerializeToElement(texts).EnumerateArray().ToList();
        if (raw)
        {
            request.RawInputContents.Add(GrpcTensors.Raw("BYTES", values));
        }
        else
        {
            input.Contents = GrpcTensors.Contents("BYTES", values);
        }

        request.Inputs.Add(input);
        return request;
    }

    [Fact]
    public async Task ServerLiveReadyAndMetadata_AnswerAsTheHttpEndpoints()
    {
        await using GrpcTestServer server = await StartDemoAsync();

        Assert.True((await server.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await server.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await server.Client.ModelReadyAsync(new ModelReadyRequest { Name = "langid" })).Ready);
        Assert.True((await server.Client.ModelReadyAsync(new ModelReadyRequest { Name = "langid", Version = "1" })).Ready);
        ServerMetadataResponse serverMetadata = await server.Client.ServerMetadataAsync(new ServerMetadataRequest());
        using JsonDocument httpServer = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("/v2", UriKind.Relative)));
        Assert.Equal(httpServer.RootElement.GetProperty("name").GetString(), serverMetadata.Name);
        Assert.Equal(httpServer.RootElement.GetProperty("version").GetString(), serverMetadata.Version);

        ModelMetadataResponse metadata = await server.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "langid" });
        using JsonDocument http = JsonDocument.Parse(await server.Http.GetStringAsync(new Uri("/v2/models/langid", UriKind.Relative)));
        Assert.Equal(http.RootElement.GetProperty("name").GetString(), metadata.Name);
        Assert.Equal(http.RootElement.GetProperty("platform").GetString(), metadata.Platform);
        Assert.Equal(["1"], metadata.Versions);
        foreach ((string property, Google.Protobuf.Collections.RepeatedField<ModelMetadataResponse.Types.TensorMetadata> tensors) in
            new[] { ("inputs", metadata.Inputs), ("outputs", metadata.Outputs) })
        {
            JsonElement[] expected = http.RootElement.GetProperty(property).EnumerateArray().ToArray();
            Assert.Equal(expected.Length, tensors.Count);
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal(expected[i].GetProperty("name").GetString(), tensors[i].Name);
                Assert.Equal(expected[i].GetProperty("datatype").GetString(), tensors[i].Datatype);
                Assert.Equal(expected[i].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), tensors[i].Shape);
            }
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ModelInfer_FastTextDemo_GivesTheLabelsOfTheHttpPath(bool raw)
    {
        await using GrpcTestServer server = await StartDemoAsync();
        ModelInferRequest request = TextRequest("langid", s_texts, raw);
        request.Parameters["k"] = new InferParameter { Int64Param = 2 };

        ModelInferResponse response = await server.Client.ModelInferAsync(request);

        var body = new
        {
            parameters = new { k = 2 },
            inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { s_texts.Length }, data = s_texts } },
        };
        using HttpResponseMessage httpAnswer = await server.Http.PostAsJsonAsync(new Uri("/v2/models/langid/infer", UriKind.Relative), body);
        Assert.True(httpAnswer.IsSuccessStatusCode, await httpAnswer.Content.ReadAsStringAsync());
        using JsonDocument http = JsonDocument.Parse(await httpAnswer.Content.ReadAsStringAsync());
        JsonElement[] httpOutputs = http.RootElement.GetProperty("outputs").EnumerateArray().ToArray();

        Assert.Equal("langid", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("req-1", response.Id);
        Assert.Equal(httpOutputs.Length, response.Outputs.Count);
        Assert.Equal(response.Outputs.Count, response.RawOutputContents.Count);
        for (int i = 0; i < httpOutputs.Length; i++)
        {
            ModelInferResponse.Types.InferOutputTensor output = response.Outputs[i];
            Assert.Equal(httpOutputs[i].GetProperty("name").GetString(), output.Name);
            Assert.Equal(httpOutputs[i].GetProperty("datatype").GetString(), output.Datatype);
            Assert.Equal(httpOutputs[i].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), output.Shape);
            Assert.Null(output.Contents); // answers are raw, as Triton's
            List<object> expected = GrpcTensors.Flatten(httpOutputs[i].GetProperty("data")).Select(v => GrpcTensors.Expected(output.Datatype, v)).ToList();
            Assert.Equal(expected, GrpcTensors.ReadRaw(output.Datatype, response.RawOutputContents[i]));
        }

        Assert.Equal(3 * 2, GrpcTensors.ReadRaw("BYTES", response.RawOutputContents[0]).Count);
    }

    [Fact]
    public async Task ModelInfer_RequestedOutputs_AnswersOnlyThose()
    {
        await using GrpcTestServer server = await StartDemoAsync();
        ModelInferRequest request = TextRequest("langid", s_texts[..1], raw: false);
        request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "probability" });

        ModelInferResponse response = await server.Client.ModelInferAsync(request);

        Assert.Equal("probability", Assert.Single(response.Outputs).Name);
        Assert.Single(response.RawOutputContents);
    }

    [Fact]
    public async Task ModelStreamInfer_AnswersEachRequestInOrder_AndAFailureAsItsErrorMessage()
    {
        await using GrpcTestServer server = await StartDemoAsync();
        using AsyncDuplexStreamingCall<ModelInferRequest, ModelStreamInferResponse> call = server.Client.ModelStreamInfer();
        await call.RequestStream.WriteAsync(TextRequest("langid", s_texts[..1], raw: true));
        await call.RequestStream.WriteAsync(TextRequest("nope", s_texts[..1], raw: true));
        await call.RequestStream.WriteAsync(TextRequest("langid", s_texts[1..2], raw: false));
        await call.RequestStream.CompleteAsync();

        var answers = new List<ModelStreamInferResponse>();
        await foreach (ModelStreamInferResponse answer in call.ResponseStream.ReadAllAsync())
        {
            answers.Add(answer);
        }

        Assert.Equal(3, answers.Count);
        Assert.Equal("", answers[0].ErrorMessage);
        Assert.Equal("langid", answers[0].InferResponse.ModelName);
        Assert.Equal("unknown model 'nope'", answers[1].ErrorMessage);
        Assert.Equal("", answers[2].ErrorMessage);
        Assert.Equal(2, answers[2].InferResponse.Outputs.Count);
    }

    [Fact]
    public async Task UnknownModelOrVersion_IsNotFound()
    {
        await using GrpcTestServer server = await StartDemoAsync();

        RpcException model = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(TextRequest("nope", s_texts, raw: false)).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, model.StatusCode);
        Assert.Equal("unknown model 'nope'", model.Status.Detail);

        ModelInferRequest versioned = TextRequest("langid", s_texts, raw: false);
        versioned.ModelVersion = "7";
        RpcException version = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(versioned).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, version.StatusCode);
        Assert.Equal("model 'langid' has no version '7' (versions: 1)", version.Status.Detail);

        RpcException metadata = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelMetadataAsync(new ModelMetadataRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, metadata.StatusCode);
        RpcException ready = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelReadyAsync(new ModelReadyRequest { Name = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, ready.StatusCode);
    }

    public static TheoryData<string, string> BadRequests() => new()
    {
        { "wrong datatype", "input 'text' has datatype INT32; model 'langid' expects BYTES" },
        { "count mismatch", "input 'text' has shape [3] (3 elements) but contents.bytes_contents has 1" },
        { "wrong field", "input 'text': datatype BYTES takes its elements in contents.bytes_contents only" },
        { "raw count", "raw_input_contents has 2 entries for 1 inputs; send one per input, in the order of 'inputs'" },
        { "raw truncated", "input 'text': BYTES element 0 says 100 bytes but raw_input_contents has 3 left" },
        { "unknown input", "unknown input 'txt'; model 'langid' takes 'text' (BYTES [-1])" },
        { "unknown output", "unknown output 'score'; model 'langid' has 'label' (BYTES [-1,-1]), 'probability' (FP32 [-1,-1])" },
        { "bad k", "parameter 'k' must be -1 (all labels) or a positive integer (int64_param)" },
        { "bad threshold", "parameter 'threshold' must be a number from 0 to 1 (double_param)" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task BadInput_IsInvalidArgument_WithTheMessageOfTheHttpPath(string problem, string message)
    {
        await using GrpcTestServer server = await StartDemoAsync();
        ModelInferRequest request = TextRequest("langid", s_texts, raw: false);
        ModelInferRequest.Types.InferInputTensor input = request.Inputs[0];
        switch (problem)
        {
            case "wrong datatype": input.Datatype = "INT32"; break;
            case "count mismatch": input.Contents.BytesContents.RemoveAt(0); input.Contents.BytesContents.RemoveAt(0); break;
            case "wrong field": input.Contents.IntContents.Add(1); break;
            case "raw count":
                input.Contents = null;
                request.RawInputContents.Add(ByteString.Empty);
                request.RawInputContents.Add(ByteString.Empty);
                break;
            case "raw truncated":
                input.Contents = null;
                input.Shape[0] = 1;
                request.RawInputContents.Add(ByteString.CopyFrom(100, 0, 0, 0, (byte)'a', (byte)'b', (byte)'c'));
                break;
            case "unknown input": input.Name = "txt"; break;
            case "unknown output": request.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "score" }); break;
            case "bad k": request.Parameters["k"] = new InferParameter { Int64Param = 0 }; break;
            case "bad threshold": request.Parameters["threshold"] = new InferParameter { DoubleParam = 1.5 }; break;
        }

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
    }

    [Fact]
    public async Task HttpRefusesTheSameUnknownInput()
    {
        // The message above is the JSON path's own (one validator): the HTTP answer says the same.
        await using GrpcTestServer server = await StartDemoAsync();
        var body = new { inputs = new[] { new { name = "txt", datatype = "BYTES", shape = new[] { 1 }, data = new[] { "a" } } } };
        using HttpResponseMessage answer = await server.Http.PostAsJsonAsync(new Uri("/v2/models/langid/infer", UriKind.Relative), body);
        using JsonDocument error = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        Assert.Equal("unknown input 'txt'; model 'langid' takes 'text' (BYTES [-1])", error.RootElement.GetProperty("error").GetString());
    }

    [Fact]
    public async Task TooLargeMessage_IsResourceExhausted()
    {
        await using GrpcTestServer server = await StartDemoAsync(GrpcTestServer.Options() with { MaxRequestBodyBytes = 4096 });
        ModelInferRequest request = TextRequest("langid", [new string('a', 8192)], raw: true);

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        // A message under the limit still passes on the same server.
        Assert.Single((await server.Client.ModelInferAsync(TextRequest("langid", ["a small one"], raw: true))).Outputs, o => o.Name == "label");
    }

    [Fact]
    public async Task BeforeReady_ReadinessIsFalse_AndInferIsUnavailable()
    {
        var model = new FakeModel { WarmupGate = new ManualResetEventSlim(false) };
        GrpcTestServer server = await GrpcTestServer.StartAsync(model, waitReady: false);
        try
        {
            Assert.True((await server.Client.ServerLiveAsync(new ServerLiveRequest())).Live);
            Assert.False((await server.Client.ServerReadyAsync(new ServerReadyRequest())).Ready);
            Assert.False((await server.Client.ModelReadyAsync(new ModelReadyRequest { Name = "fake" })).Ready);
            RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(TextRequest("fake", ["x"], raw: false)).ResponseAsync);
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.Equal("model 'fake' is not ready yet", error.Status.Detail);
            Assert.Equal(0, model.StartedCount);
        }
        finally
        {
            model.WarmupGate.Set();
            await server.Server.WhenReady.WaitAsync(TimeSpan.FromSeconds(60));
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task FullQueue_IsResourceExhausted()
    {
        var model = new FakeModel { PredictGate = new ManualResetEventSlim(false) };
        GrpcTestServer server = await GrpcTestServer.StartAsync(model, GrpcTestServer.Options(threads: 1) with { Scheduler = new SchedulerOptions { QueueCapacity = 1 } });
        try
        {
            AsyncUnaryCall<ModelInferResponse> running = server.Client.ModelInferAsync(TextRequest("fake", ["one"], raw: false));
            Assert.True(await model.PredictStarted.WaitAsync(TimeSpan.FromSeconds(30)));
            AsyncUnaryCall<ModelInferResponse> queued = server.Client.ModelInferAsync(TextRequest("fake", ["two"], raw: false));
            await WaitUntilAsync(() => server.Server.Registry.Default.Scheduler.QueuedCount == 1);

            RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(TextRequest("fake", ["three"], raw: false)).ResponseAsync);

            Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
            model.PredictGate.Set();
            Assert.Equal(2, (await running.ResponseAsync).Outputs.Count);
            Assert.Equal(2, (await queued.ResponseAsync).Outputs.Count);
            running.Dispose();
            queued.Dispose();
        }
        finally
        {
            model.PredictGate.Set();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task RequestTimeout_IsDeadlineExceeded()
    {
        var model = new FakeModel { PredictGate = new ManualResetEventSlim(false) };
        GrpcTestServer server = await GrpcTestServer.StartAsync(
            model, GrpcTestServer.Options(threads: 1) with { Scheduler = new SchedulerOptions { RequestTimeout = TimeSpan.FromMilliseconds(200) } });
        try
        {
            // The prediction is held until the answer came back, whatever the clock: only the server's deadline ends it.
            RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(TextRequest("fake", ["held"], raw: false)).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }
        finally
        {
            model.PredictGate.Set();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task ClientDeadline_IsDeadlineExceeded()
    {
        var model = new FakeModel { PredictGate = new ManualResetEventSlim(false) };
        GrpcTestServer server = await GrpcTestServer.StartAsync(model, GrpcTestServer.Options(threads: 1));
        try
        {
            RpcException error = await Assert.ThrowsAsync<RpcException>(
                () => server.Client.ModelInferAsync(TextRequest("fake", ["held"], raw: false), deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }
        finally
        {
            model.PredictGate.Set();
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task BackendFailure_IsInternal()
    {
        await using GrpcTestServer server = await GrpcTestServer.StartAsync(new FakeModel());

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(TextRequest("fake", [FakeModel.ThrowText], raw: false)).ResponseAsync);

        Assert.Equal(StatusCode.Internal, error.StatusCode);
    }

    [Fact]
    public async Task HttpPort_DoesNotServeGrpc_AndGrpcPort_DoesNotServeHttpRoutes()
    {
        await using GrpcTestServer server = await StartDemoAsync();
        using var onHttpPort = global::Grpc.Net.Client.GrpcChannel.ForAddress(server.Server.Address);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(onHttpPort);
        RpcException error = await Assert.ThrowsAsync<RpcException>(() => client.ServerLiveAsync(new ServerLiveRequest()).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, error.StatusCode);

        using var http2 = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage answer = await http2.GetAsync(new Uri(server.Server.GrpcAddress!, "/v2/health/ready"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, answer.StatusCode);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (int i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the server did not reach the state within 30 s");
    }
}
