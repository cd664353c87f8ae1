using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

public sealed class OipTests : IAsyncLifetime
{
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartDemoAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<HttpResponseMessage> GetAsync(string path) => _server.Client.GetAsync(new Uri(path, UriKind.Relative));

    private Task<HttpResponseMessage> InferAsync(string json, string model = "langid") =>
        _server.Client.PostAsync(new Uri($"/v2/models/{model}/infer", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task HealthLiveAndReady_Answer200()
    {
        using JsonDocument live = await HttpAssert.JsonAsync(await GetAsync("/v2/health/live"));
        using JsonDocument ready = await HttpAssert.JsonAsync(await GetAsync("/v2/health/ready"));

        Assert.True(live.RootElement.GetProperty("live").GetBoolean());
        Assert.True(ready.RootElement.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task ServerMetadata_NamesSharpserve()
    {
        using JsonDocument json = await HttpAssert.JsonAsync(await GetAsync("/v2"));

        Assert.Equal("sharpserve", json.RootElement.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("version").GetString()));
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("extensions").ValueKind);
    }

    [Theory]
    [InlineData("/v2/models/langid")]
    [InlineData("/v2/models/langid/versions/1")]
    public async Task ModelMetadata_DescribesTextInputAndLabelOutputs(string path)
    {
        using JsonDocument json = await HttpAssert.JsonAsync(await GetAsync(path));
        JsonElement root = json.RootElement;

        Assert.Equal("langid", root.GetProperty("name").GetString());
        Assert.Equal("fasttext", root.GetProperty("platform").GetString());
        JsonElement input = root.GetProperty("inputs")[0];
        Assert.Equal("text", input.GetProperty("name").GetString());
        Assert.Equal("BYTES", input.GetProperty("datatype").GetString());
        Assert.Equal("[-1]", input.GetProperty("shape").GetRawText());
        JsonElement outputs = root.GetProperty("outputs");
        Assert.Equal("label", outputs[0].GetProperty("name").GetString());
        Assert.Equal("BYTES", outputs[0].GetProperty("datatype").GetString());
        Assert.Equal("probability", outputs[1].GetProperty("name").GetString());
        Assert.Equal("FP32", outputs[1].GetProperty("datatype").GetString());
    }

    [Fact]
    public async Task ModelReady_Answers200()
    {
        using JsonDocument json = await HttpAssert.JsonAsync(await GetAsync("/v2/models/langid/ready"));

        Assert.True(json.RootElement.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Infer_BatchOfTexts_AnswersOneRowPerText()
    {
        const string body = """
            {"id": "req-7", "inputs": [{"name": "text", "datatype": "BYTES", "shape": [3],
              "data": ["Bonjour, je voudrais un café", "Guten Morgen, wie geht es dir?", "Buongiorno, vorrei un caffè"]}]}
            """;
        using JsonDocument json = await HttpAssert.JsonAsync(await InferAsync(body));
        JsonElement root = json.RootElement;

        Assert.Equal("langid", root.GetProperty("model_name").GetString());
        Assert.Equal("req-7", root.GetProperty("id").GetString());
        JsonElement label = root.GetProperty("outputs")[0];
        Assert.Equal("label", label.GetProperty("name").GetString());
        Assert.Equal("[3,1]", label.GetProperty("shape").GetRawText());
        Assert.Equal("__label__fr", label.GetProperty("data")[0].GetString());
        Assert.Equal("__label__de", label.GetProperty("data")[1].GetString());
        Assert.Equal("__label__it", label.GetProperty("data")[2].GetString());
        JsonElement probability = root.GetProperty("outputs")[1];
        Assert.Equal("FP32", probability.GetProperty("datatype").GetString());
        Assert.Equal(3, probability.GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("k3", """{"k": 3}""")]
    [InlineData("kall-th0.1", """{"k": -1, "threshold": 0.1}""")]
    public async Task Infer_EverySentenceInOneBatch_EqualsTheFastTextCli(string caseName, string parameters)
    {
        string[] sentences = FastTextGolden.Sentences();
        string[] expected = FastTextGolden.Lines("langid", caseName);
        string body = $$"""{"parameters": {{parameters}}, "inputs": [{"name": "text", "datatype": "BYTES", "shape": [{{sentences.Length}}], "data": {{JsonSerializer.Serialize(sentences)}}}]}""";
        using JsonDocument json = await HttpAssert.JsonAsync(await InferAsync(body));
        JsonElement outputs = json.RootElement.GetProperty("outputs");

        Assert.Equal(sentences.Length, outputs[0].GetProperty("shape")[0].GetInt32());
        for (int i = 0; i < sentences.Length; i++)
        {
            Assert.Equal(expected[i], FastTextGolden.AsCliLine(outputs, i));
        }
    }

    [Fact]
    public async Task Infer_WithK_AnswersKLabelsPerText_AndOutputsSelectionFilters()
    {
        const string body = """
            {"parameters": {"k": 2}, "outputs": [{"name": "label"}],
             "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": [["Bonjour mes amis"], ["Hello my friends"]]}]}
            """;
        using JsonDocument json = await HttpAssert.JsonAsync(await InferAsync(body));
        JsonElement outputs = json.RootElement.GetProperty("outputs");

        Assert.Equal(1, outputs.GetArrayLength());
        Assert.Equal("[2,2]", outputs[0].GetProperty("shape").GetRawText());
        Assert.Equal(4, outputs[0].GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Infer_VersionedPath_Works()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/v2/models/langid/versions/1/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["hola amigo"]}]}"""));

        using JsonDocument json = await HttpAssert.JsonAsync(response);
        Assert.Equal("__label__es", json.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString());
    }

    [Fact]
    public async Task Infer_BareValueForAOneElementTensor_Works()
    {
        using JsonDocument json = await HttpAssert.JsonAsync(await InferAsync(
            """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":"hola amigo"}]}"""));

        Assert.Equal("__label__es", json.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString());
    }

    [Theory]
    [InlineData("{", "malformed JSON")]
    [InlineData("[1,2]", "JSON object")]
    [InlineData("""{"inputs": 5}""", "'inputs' must be an array")]
    [InlineData("""{"id": 5, "inputs": []}""", "'id' must be a string")]
    [InlineData("""{}""", "no 'inputs'")]
    [InlineData("""{"inputs": []}""", "input 'text' is missing")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.5]}]}""", "datatype FP32")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "STRING", "shape": [1], "data": ["a"]}]}""", "'datatype' must be one of")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": ["a"]}]}""", "2 elements")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1, 1], "data": ["a"]}]}""", "expects [-1]")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1], "data": ["a"]}]}""", "'shape' must be")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [9223372036854775807], "data": ["a"]}]}""", "more than")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [7]}]}""", "must hold strings")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [null]}]}""", "may hold only")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1]}]}""", "needs 'datatype', 'shape' and 'data'")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [2], "data": "a"}]}""", "only for a one-element tensor")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": null}]}""", "'data' must be an array")]
    [InlineData("""{"inputs": [{"name": "words", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "unknown input 'words'")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}, {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["b"]}]}""", "given twice")]
    [InlineData("""{"parameters": {"k": 0}, "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "parameter 'k'")]
    [InlineData("""{"parameters": {"k": "3"}, "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "parameter 'k'")]
    [InlineData("""{"parameters": {"threshold": -1}, "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "parameter 'threshold'")]
    [InlineData("""{"outputs": [{"name": "logits"}], "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]}""", "unknown output 'logits'")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["\ud800"]}]}""", "malformed JSON")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"], "parameters": {"binary_data_size": 4}}]}""", "has both 'data' and 'parameters.binary_data_size'")]
    [InlineData("""{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}]} trailing""", "malformed JSON")]
    public async Task Infer_BadRequest_Answers400NamingTheProblem(string body, string message)
    {
        using HttpResponseMessage response = await InferAsync(body);
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, message);
    }

    [Fact]
    public async Task Infer_InvalidUtf8InJson_Answers400()
    {
        const string json = """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["ab"]}]}""";
        byte[] body = Encoding.UTF8.GetBytes(json);
        body[json.IndexOf("\"ab\"", StringComparison.Ordinal) + 1] = 0xff; // the text itself, not a property name
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/v2/models/langid/infer", UriKind.Relative), new ByteArrayContent(body));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "input 'text': a string in 'data' is not valid UTF-8");
    }

    [Fact]
    public async Task Infer_EmptyBody_Answers400()
    {
        using HttpResponseMessage response = await InferAsync("");
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "empty");
    }

    [Fact]
    public async Task UnknownModel_Answers404()
    {
        await HttpAssert.ErrorAsync(await InferAsync("{}", model: "nope"), HttpStatusCode.NotFound, "unknown model 'nope'");
        await HttpAssert.ErrorAsync(await GetAsync("/v2/models/nope"), HttpStatusCode.NotFound, "unknown model 'nope'");
        await HttpAssert.ErrorAsync(await GetAsync("/v2/models/nope/ready"), HttpStatusCode.NotFound, "unknown model");
        await HttpAssert.ErrorAsync(await GetAsync("/v2/models/langid/versions/7"), HttpStatusCode.NotFound, "no version '7'");
    }

    [Fact]
    public async Task UnknownRoute_Answers404Json()
    {
        await HttpAssert.ErrorAsync(await GetAsync("/v3/whatever"), HttpStatusCode.NotFound, "no endpoint");
    }

    [Fact]
    public async Task AfterManyBadRequests_ServerStillAnswers()
    {
        for (int i = 0; i < 20; i++)
        {
            using HttpResponseMessage bad = await InferAsync("{\"inputs\": [");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using JsonDocument json = await HttpAssert.JsonAsync(await InferAsync(
            """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["Bonjour mes amis"]}]}"""));
        Assert.Equal("__label__fr", json.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString());
    }
}
