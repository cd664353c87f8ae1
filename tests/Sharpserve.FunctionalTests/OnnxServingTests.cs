using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Abstractions;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;
using Sharpserve.Supervision;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// ONNX models through the real server, in thread mode and in process mode (real workers loading the model
/// through ModelLoader), answers compared with the numpy references committed next to the models.
/// </summary>
public sealed class OnnxServingTests
{
    private static string ModelPath(string name) => TestServer.DataPath("onnx", name + ".onnx");

    private static JsonDocument Expected(string name) =>
        JsonDocument.Parse(File.ReadAllBytes(TestServer.DataPath("onnx", name + ".expected.json")));

    private static Task<TestServer> StartThreadModeAsync(string name) =>
        TestServer.StartAsync(new OnnxBackend().Open(ModelPath(name), Path.GetFileName(name)));

    private static async Task<JsonDocument> InferAsync(HttpClient client, string model, string body, HttpStatusCode status = HttpStatusCode.OK)
    {
        using HttpResponseMessage response = await client.PostAsync(
            new Uri($"/v2/models/{model}/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        return await HttpAssert.JsonAsync(response, status);
    }

    private static string RequestFor(JsonDocument expected) =>
        $$"""{"inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";

    private static string Compact(JsonElement element) => JsonSerializer.Serialize(element);

    internal static void AssertOutputsMatch(JsonElement expectedOutputs, JsonElement actualOutputs)
    {
        Assert.Equal(expectedOutputs.GetArrayLength(), actualOutputs.GetArrayLength());
        for (int i = 0; i < expectedOutputs.GetArrayLength(); i++)
        {
            JsonElement expected = expectedOutputs[i];
            JsonElement actual = actualOutputs[i];
            string name = expected.GetProperty("name").GetString()!;
            Assert.Equal(name, actual.GetProperty("name").GetString());
            Assert.Equal(expected.GetProperty("datatype").GetString(), actual.GetProperty("datatype").GetString());
            Assert.Equal(Compact(expected.GetProperty("shape")), Compact(actual.GetProperty("shape")));
            JsonElement[] e = [.. expected.GetProperty("data").EnumerateArray()];
            JsonElement[] a = [.. actual.GetProperty("data").EnumerateArray()];
            Assert.Equal(e.Length, a.Length);
            for (int j = 0; j < e.Length; j++)
            {
                switch (e[j].ValueKind)
                {
                    case JsonValueKind.Number:
                        double want = e[j].GetDouble();
                        double got = a[j].GetDouble();
                        Assert.True(Math.Abs(want - got) <= 1e-5 * Math.Max(1, Math.Abs(want)), $"{name}[{j}]: expected {want}, got {got}");
                        break;
                    default:
                        Assert.Equal(Compact(e[j]), Compact(a[j]));
                        break;
                }
            }
        }
    }

    [Theory]
    [InlineData("mlp_classifier")]
    [InlineData("int64_embedding")]
    [InlineData("multi_io")]
    [InlineData("dynamic_hw_conv")] // the first synthesised warm-up input is too small for it
    [InlineData("top20")] // no synthesised warm-up input runs on it
    [InlineData("string_label_encoder")] // a string input named 'text' that is not a text classifier
    [InlineData("any_rank")] // an input declared without a shape takes any rank
    [InlineData("expand")]
    public async Task ThreadMode_Infer_MatchesTheNumpyReference(string name)
    {
        await using TestServer server = await StartThreadModeAsync(name);
        using JsonDocument expected = Expected(name);

        using JsonDocument answer = await InferAsync(server.Client, name, RequestFor(expected));

        AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
    }

    [Theory]
    [InlineData("mlp_classifier")]
    [InlineData("multi_io")] // every datatype through the IPC codec
    [InlineData("top20")] // workers serve it without warm-up runs; the front's warm-up request gets a 500 and goes on
    [InlineData("int_division")] // the front's warm-up request divides by zero (500); the workers warm up with ones
    [InlineData("string_label_encoder")]
    [InlineData("any_rank")]
    [InlineData("expand")]
    public async Task ProcessMode_Infer_MatchesTheNumpyReference(string name)
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-onnx-pm-").FullName;
        try
        {
            string model = Path.Combine(directory, name + ".onnx");
            File.Copy(ModelPath(name), model);
            var pool = new WorkerPoolOptions
            {
                Workers = 2,
            };
            // As 'serve' does in process mode: the front only describes the model; the workers load it.
            var source = new ModelSource(new OnnxBackend().Describe(model, name), model, () => model);
            await using TestServer server = await TestServer.WrapAsync(
                await SharpserveServer.StartAsync(TestServer.Options() with { ProcessMode = pool, MaxRequestBodyBytes = 80 << 20 }, [source]));
            using JsonDocument expected = Expected(name);

            for (int i = 0; i < 4; i++)
            {
                using JsonDocument answer = await InferAsync(server.Client, name, RequestFor(expected));
                AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
            }

            if (name == "mlp_classifier")
            {
                using JsonDocument bad = await InferAsync(
                    server.Client, name, """{"inputs":[{"name":"input","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}""", HttpStatusCode.BadRequest);
                Assert.Contains("input 'input'", bad.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            }

            if (name == "string_label_encoder")
            {
                // With --max-body-size raised this far, one request can hold more than a frame to a worker may carry.
                string text = new('a', 65 << 20);
                using JsonDocument tooBig = await InferAsync(server.Client, name,
                    $$"""{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["{{text}}"]}]}""", HttpStatusCode.BadRequest);
                Assert.Contains("more than a worker process takes", tooBig.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
                using JsonDocument answer = await InferAsync(server.Client, name, RequestFor(expected));
                AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
            }

            if (name == "expand")
            {
                // 4,200 x 4,200 floats is 67 MiB, over what one frame to the front may carry: a clear 500 from the
                // worker, which keeps serving (it used to break its connection's writer and go mute, then 504s).
                const string huge = """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[0.5]},{"name":"shp","datatype":"INT64","shape":[2],"data":[4200,4200]}]}""";
                for (int i = 0; i < 3; i++)
                {
                    using JsonDocument tooBig = await InferAsync(server.Client, name, huge, HttpStatusCode.InternalServerError);
                    Assert.Contains("more than a worker process can send back", tooBig.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
                    using JsonDocument answer = await InferAsync(server.Client, name, RequestFor(expected));
                    AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
                }

                Assert.Equal(0, ((IWorkerStatus)server.Server.Registry.Default.Executor).Restarts);
            }

            if (name == "int_division")
            {
                // Both inputs' dimension is 'N': different sizes are the client's mistake, checked in the worker.
                using JsonDocument bad = await InferAsync(server.Client, name,
                    """{"inputs":[{"name":"a","datatype":"INT32","shape":[3],"data":[1,2,3]},{"name":"b","datatype":"INT32","shape":[2],"data":[1,2]}]}""",
                    HttpStatusCode.BadRequest);
                Assert.Contains("names both 'N'", bad.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task LabelService_LeavesAStringModelThatIsNotATextClassifierAlone()
    {
        // Its one BYTES input is named 'text', but it has no 'label'/'probability' outputs: warm-up used to call
        // /labelservice/ with it, get a 500, and stop the server before it was ready.
        await using TestServer server = await StartThreadModeAsync("string_label_encoder");

        using HttpResponseMessage response = await server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new StringContent("dog", Encoding.UTF8));

        using JsonDocument error = await HttpAssert.JsonAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("needs a text classifier", error.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InputWithoutShape_TakesAnyRank_AndAScalarTakesABareValue()
    {
        await using TestServer server = await StartThreadModeAsync("any_rank");

        using JsonDocument metadata = await HttpAssert.JsonAsync(
            await server.Client.GetAsync(new Uri("/v2/models/any_rank", UriKind.Relative)));
        JsonElement inputs = metadata.RootElement.GetProperty("inputs");
        Assert.Equal("[-1]", inputs[0].GetProperty("shape").GetRawText());
        Assert.Equal("[]", inputs[1].GetProperty("shape").GetRawText());

        using HttpResponseMessage response = await server.Client.PostAsync(new Uri("/v2/models/any_rank/infer", UriKind.Relative), new StringContent(
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[2,2],"data":[[-1,2],[-3,4]]},{"name":"s","datatype":"FP32","shape":[],"data":0.5}]}"""));
        using JsonDocument json = await HttpAssert.JsonAsync(response);
        JsonElement y = json.RootElement.GetProperty("outputs")[0];
        Assert.Equal("[2,2]", y.GetProperty("shape").GetRawText());
        Assert.Equal("[0.5,1,1.5,2]", y.GetProperty("data").GetRawText());

        // The scalar input is declared with rank 0: that one is checked.
        using HttpResponseMessage bad = await server.Client.PostAsync(new Uri("/v2/models/any_rank/infer", UriKind.Relative), new StringContent(
            """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},{"name":"s","datatype":"FP32","shape":[1],"data":[0.5]}]}"""));
        await HttpAssert.ErrorAsync(bad, HttpStatusCode.BadRequest, "input 's' has shape [1]");
    }

    [Fact]
    public async Task ModelMetadata_ReportsNamesDatatypesAndDynamicAxes()
    {
        await using TestServer server = await StartThreadModeAsync("mlp_classifier");

        using HttpResponseMessage response = await server.Client.GetAsync(new Uri("/v2/models/mlp_classifier", UriKind.Relative));
        using JsonDocument json = await HttpAssert.JsonAsync(response);

        JsonElement root = json.RootElement;
        Assert.Equal("onnxruntime_onnx", root.GetProperty("platform").GetString());
        Assert.Equal("input", root.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal("FP32", root.GetProperty("inputs")[0].GetProperty("datatype").GetString());
        Assert.Equal("[-1,8]", root.GetProperty("inputs")[0].GetProperty("shape").GetRawText());
        Assert.Equal("INT64", root.GetProperty("outputs")[2].GetProperty("datatype").GetString());
    }

    [Fact]
    public async Task Outputs_SelectsWhatIsReturned()
    {
        await using TestServer server = await StartThreadModeAsync("mlp_classifier");
        using JsonDocument expected = Expected("mlp_classifier");
        string body = $$"""{"outputs": [{"name": "label"}], "inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";

        using JsonDocument answer = await InferAsync(server.Client, "mlp_classifier", body);

        JsonElement outputs = answer.RootElement.GetProperty("outputs");
        Assert.Equal(1, outputs.GetArrayLength());
        Assert.Equal("label", outputs[0].GetProperty("name").GetString());
        Assert.Equal(Compact(expected.RootElement.GetProperty("outputs")[2].GetProperty("data")), Compact(outputs[0].GetProperty("data")));

        // An empty list asks for every output, as no list does (Triton's reading of the protocol).
        string all = $$"""{"outputs": [], "inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";
        using JsonDocument everything = await InferAsync(server.Client, "mlp_classifier", all);
        AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), everything.RootElement.GetProperty("outputs"));
    }

    [Theory]
    [InlineData("""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,7],"data":[1,2,3,4,5,6,7]}]}""", "input 'input' has shape [1,7]")]
    [InlineData("""{"inputs":[{"name":"input","datatype":"INT64","shape":[1,8],"data":[1,2,3,4,5,6,7,8]}]}""", "input 'input' has datatype INT64")]
    [InlineData("""{"inputs":[{"name":"input","datatype":"FP32","shape":[2,8],"data":[1,2,3,4,5,6,7,8]}]}""", "(16 elements) but 'data' holds 8 values")]
    [InlineData("""{"inputs":[{"name":"input","datatype":"FP32","shape":[9223372036854775807,8],"data":[1]}]}""", "more than")]
    [InlineData("""{"inputs":[]}""", "input 'input' is missing")]
    [InlineData("""{"outputs":[{"name":"label"},{"name":"label"}],"inputs":[{"name":"input","datatype":"FP32","shape":[1,8],"data":[1,2,3,4,5,6,7,8]}]}""", "output 'label' is requested more than once")]
    [InlineData("""{"outputs":[{"name":"nope"}],"inputs":[{"name":"input","datatype":"FP32","shape":[1,8],"data":[1,2,3,4,5,6,7,8]}]}""", "unknown output 'nope'")]
    [InlineData("""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,8],"data":[1,2,3,4,5,6,7,"x"]}]}""", "must hold numbers")]
    [InlineData("""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,8],"data":[1,2,3,4,5,6,7,1e40]}]}""", "not a valid FP32")]
    public async Task Infer_BadInput_Answers400NamingTheTensor(string body, string message)
    {
        await using TestServer server = await StartThreadModeAsync("mlp_classifier");

        using HttpResponseMessage response = await server.Client.PostAsync(
            new Uri("/v2/models/mlp_classifier/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, message);
    }

    [Fact]
    public async Task Infer_Int64OutOfTableRange_Answers400()
    {
        await using TestServer server = await StartThreadModeAsync("int64_embedding");

        using HttpResponseMessage response = await server.Client.PostAsync(
            new Uri("/v2/models/int64_embedding/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,5],"data":[0,1,2,3,99]}]}""", Encoding.UTF8, "application/json"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "refused the input");
    }

    [Fact]
    public void ModelLoader_PreparesTheBakedForm_AndLoadsIt()
    {
        string cache = Directory.CreateTempSubdirectory("sharpserve-onnx-loader-").FullName;
        try
        {
            string baked = ModelLoader.PreparedPath(ModelPath("matmul"), cache);
            using IModel model = ModelLoader.Load(baked, "m");

            Assert.StartsWith(Path.Combine(cache, "onnx", "matmul-"), baked, StringComparison.Ordinal);
            Assert.Equal("onnxruntime_onnx", model.Metadata.Platform);
            Assert.Equal(new FileInfo(Path.Combine(Path.GetDirectoryName(baked)!, "model.data")).Length, model.MappedBytes);
            Assert.True(model.MappedBytes > 0);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    [Fact]
    public void Serve_StartsOnnxWorkersOneFirst_AndImageWorkersTogether()
    {
        string cache = Directory.CreateTempSubdirectory("sharpserve-onnx-start-").FullName;
        try
        {
            ModelSource onnx = Sharpserve.Cli.ServeCommand.OpenSource(ModelPath("matmul"), "m", BackendCatalog.Create(new OnnxBackendOptions { CacheDirectory = cache }), inWorkers: true);
            ModelSource fastText = Sharpserve.Cli.ServeCommand.OpenSource(TestServer.DemoModelPath, "langid", BackendCatalog.Create(new OnnxBackendOptions { CacheDirectory = cache }), inWorkers: true);

            Assert.Null(onnx.Model); // process mode: the front only describes the models
            Assert.Null(fastText.Model);
            // ONNX Runtime's session creation is CPU-bound (it prepacks every weight); mapping an image is not.
            Assert.False(onnx.WorkersStartTogether);
            Assert.True(fastText.WorkersStartTogether);
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }
}
