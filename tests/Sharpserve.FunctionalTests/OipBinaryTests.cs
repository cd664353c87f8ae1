using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;
using Sharpserve.Supervision;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// The binary tensor data extension on the real server (docs/binary-tensor-extension.md): ONNX models whose inputs
/// and outputs cover every datatype (identity_types: INT8, INT16, UINT16, UINT32, UINT64, FP16; multi_io: FP64, INT32,
/// BOOL, UINT8, FP16, BYTES in, FP32 among its outputs; int64_embedding: INT64), in thread and process mode. A binary
/// answer is compared element by element with the JSON answer to the same request, which OnnxServingTests checks
/// against the numpy references.
/// </summary>
public sealed class OipBinaryTests
{
    public static readonly TheoryData<string> Models = new() { "identity_types", "multi_io", "int64_embedding" };

    private static string ModelPath(string name) => TestServer.DataPath("onnx", name + ".onnx");

    internal static JsonDocument Expected(string name) =>
        JsonDocument.Parse(File.ReadAllBytes(TestServer.DataPath("onnx", name + ".expected.json")));

    private static Task<TestServer> StartThreadModeAsync(string name) =>
        TestServer.StartAsync(new OnnxBackend().Open(ModelPath(name), name));

    private static Uri InferUri(string model) => new($"/v2/models/{model}/infer", UriKind.Relative);

    private static async Task<JsonDocument> InferJsonAsync(HttpClient client, string model, JsonDocument expected)
    {
        string body = $$"""{"inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";
        using HttpResponseMessage response = await client.PostAsync(InferUri(model), new StringContent(body, Encoding.UTF8, "application/json"));
        JsonDocument answer = await HttpAssert.JsonAsync(response);
        OnnxServingTests.AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
        return answer;
    }

    /// <summary>Every input binary, every output binary: the same elements as the JSON answer, in the same order.</summary>
    internal static async Task AssertBinaryAnswersAsJsonAsync(HttpClient client, string model, string? path = null)
    {
        using JsonDocument expected = Expected(model);
        using JsonDocument jsonAnswer = await InferJsonAsync(client, model, expected);

        using HttpResponseMessage response = await client.PostAsync(
            path is null ? InferUri(model) : new Uri(path, UriKind.Relative), BinaryTensorBody.AllBinary(expected.RootElement.GetProperty("inputs")));
        (JsonDocument binaryJson, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(response);
        using (binaryJson)
        {
            JsonElement[] want = [.. jsonAnswer.RootElement.GetProperty("outputs").EnumerateArray()];
            JsonElement[] got = [.. binaryJson.RootElement.GetProperty("outputs").EnumerateArray()];
            Assert.Equal(want.Length, got.Length);
            Assert.Equal(want.Length, binary.Count);
            for (int i = 0; i < want.Length; i++)
            {
                string name = want[i].GetProperty("name").GetString()!;
                Assert.Equal(name, got[i].GetProperty("name").GetString());
                Assert.Equal(want[i].GetProperty("datatype").GetString(), got[i].GetProperty("datatype").GetString());
                Assert.Equal(want[i].GetProperty("shape").GetRawText(), got[i].GetProperty("shape").GetRawText());
                BinaryTensorBody.AssertSameElements(want[i], binary[name]);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ThreadMode_BinaryRequest_AnswersAsTheJsonPath(string model)
    {
        await using TestServer server = await StartThreadModeAsync(model);

        await AssertBinaryAnswersAsJsonAsync(server.Client, model);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task ProcessMode_BinaryRequest_AnswersAsTheJsonPath(string model)
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-binary-pm-").FullName;
        try
        {
            string path = Path.Combine(directory, model + ".onnx");
            File.Copy(ModelPath(model), path);
            // As 'serve' does in process mode: the front only describes the model; the workers load it.
            var source = new ModelSource(new OnnxBackend().Describe(path, model), path, () => path);
            await using TestServer server = await TestServer.WrapAsync(await SharpserveServer.StartAsync(
                TestServer.Options() with { ProcessMode = new WorkerPoolOptions { Workers = 2 } }, [source]));

            for (int i = 0; i < 3; i++)
            {
                await AssertBinaryAnswersAsJsonAsync(server.Client, model);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task JsonAndBinaryInputs_MixInOneRequest_AndJsonOutputsNeedNoHeader()
    {
        await using TestServer server = await StartThreadModeAsync("multi_io");
        using JsonDocument expected = Expected("multi_io");

        // Every other input binary, the rest as JSON 'data'; no output asked for as binary.
        using HttpResponseMessage response = await server.Client.PostAsync(
            InferUri("multi_io"), BinaryTensorBody.AllBinary(expected.RootElement.GetProperty("inputs"), i => i % 2 == 0, parameters: null));
        (JsonDocument json, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(response);
        using (json)
        {
            Assert.False(response.Headers.Contains(BinaryTensorBody.HeaderName));
            Assert.Empty(binary);
            OnnxServingTests.AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), json.RootElement.GetProperty("outputs"));
        }
    }

    [Fact]
    public async Task OutputSelection_PerOutputBinaryData_AndBinaryDataOutputWithAnOverride()
    {
        await using TestServer server = await StartThreadModeAsync("multi_io");
        using JsonDocument expected = Expected("multi_io");
        string inputs = expected.RootElement.GetProperty("inputs").GetRawText();
        JsonElement expectedOutputs = expected.RootElement.GetProperty("outputs");

        // One output binary by its own parameter, one JSON (the binary tensor is 'text_out', BYTES), in the order asked.
        string perOutput = $$$"""{"inputs": {{{inputs}}}, "outputs": [{"name": "text_out", "parameters": {"binary_data": true}}, {"name": "b_doubled"}]}""";
        using (HttpResponseMessage response = await server.Client.PostAsync(InferUri("multi_io"), new StringContent(perOutput, Encoding.UTF8, "application/json")))
        {
            (JsonDocument json, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(response);
            using (json)
            {
                Assert.True(response.Headers.Contains(BinaryTensorBody.HeaderName));
                JsonElement outputs = json.RootElement.GetProperty("outputs");
                Assert.Equal(2, outputs.GetArrayLength());
                Assert.Equal(["text_out"], binary.Keys);
                Assert.True(Output(outputs, "b_doubled").TryGetProperty("data", out _));
                BinaryTensorBody.AssertSameElements(Output(expectedOutputs, "text_out"), binary["text_out"]);
                OnnxServingTests.AssertOutputsMatch(Array(Output(expectedOutputs, "b_doubled")), Array(Output(outputs, "b_doubled")));
            }
        }

        // All outputs binary by the request's parameter, but for one that says binary_data: false.
        string allBut = $$$"""{"inputs": {{{inputs}}}, "parameters": {"binary_data_output": true}, "outputs": [{"name": "a_doubled", "parameters": {"binary_data": false}}, {"name": "not_flag"}, {"name": "h_as_float"}]}""";
        using (HttpResponseMessage response = await server.Client.PostAsync(InferUri("multi_io"), new StringContent(allBut, Encoding.UTF8, "application/json")))
        {
            (JsonDocument json, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(response);
            using (json)
            {
                JsonElement outputs = json.RootElement.GetProperty("outputs");
                Assert.Equal(3, outputs.GetArrayLength());
                Assert.Equal(["h_as_float", "not_flag"], binary.Keys.Order(StringComparer.Ordinal));
                OnnxServingTests.AssertOutputsMatch(Array(Output(expectedOutputs, "a_doubled")), Array(Output(outputs, "a_doubled")));
                BinaryTensorBody.AssertSameElements(Output(expectedOutputs, "not_flag"), binary["not_flag"]);
                BinaryTensorBody.AssertSameElements(Output(expectedOutputs, "h_as_float"), binary["h_as_float"]);
            }
        }
    }

    private static JsonElement Output(JsonElement outputs, string name) =>
        outputs.EnumerateArray().Single(o => o.GetProperty("name").GetString() == name);

    private static JsonElement Array(JsonElement element) => JsonDocument.Parse($"[{element.GetRawText()}]").RootElement;

    [Fact]
    public async Task ServerMetadata_ListsTheExtension()
    {
        await using TestServer server = await StartThreadModeAsync("int64_embedding");

        using JsonDocument json = await HttpAssert.JsonAsync(await server.Client.GetAsync(new Uri("/v2", UriKind.Relative)));

        Assert.Contains("binary_tensor_data", json.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("model_repository", json.RootElement.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }
}
