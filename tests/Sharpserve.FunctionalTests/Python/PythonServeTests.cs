using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests.Python;

/// <summary>
/// `serve --python` on the real executable with real zygote and worker processes: what the user's class answers
/// through /labelservice/ and OIP infer (docs/python-backend.md section 6), compared with calling the class directly.
/// </summary>
public sealed class PythonServeTests : IDisposable
{
    private static readonly string[] s_texts = ["the cat sat on the mat", "stock prices fell sharply", "héron", "a", "the match ended in a draw"];
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-python-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("data/python/dict_model")]
    [InlineData("data/python/sklearn_model")]
    [InlineData("examples/python/label_service")]
    public async Task Answers_EqualCallingTheClassDirectly_OverLabelServiceAndOipInfer(string folder)
    {
        string directory = Path.Combine(AppContext.BaseDirectory, folder);
        string[] expected = await PythonServer.PredictDirectlyAsync(directory, "model:Model", s_texts);
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 2");

        for (int i = 0; i < s_texts.Length; i++)
        {
            using HttpResponseMessage response = await server.PostLabelAsync(s_texts[i]);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(expected[i], await response.Content.ReadAsStringAsync());
        }

        using HttpResponseMessage viaQuery = await server.Client.GetAsync(new Uri($"/labelservice/?text={Uri.EscapeDataString(s_texts[2])}", UriKind.Relative));
        Assert.Equal(expected[2], await viaQuery.Content.ReadAsStringAsync());

        // OIP: one BYTES input `text` with every text; `label` holds each answer in order.
        string body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { s_texts.Length }, data = s_texts } } });
        using JsonDocument infer = await HttpAssert.JsonAsync(await server.Client.PostAsync(
            new Uri("/v2/models/model/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")));
        JsonElement label = infer.RootElement.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "label");
        Assert.Equal(expected, label.GetProperty("data").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(s_texts.Length, label.GetProperty("shape")[0].GetInt32());
    }

    [Fact]
    public async Task Metadata_IsTheDefaultContract_AndStatusShowsTheZygoteAndWorkersSharingItsPages()
    {
        await using PythonServer server = await PythonServer.StartAsync("model:Model", PythonServer.DataModel("dict_model"), "--workers 2");
        using JsonDocument metadata = await HttpAssert.JsonAsync(await server.Client.GetAsync(new Uri("/v2/models/model", UriKind.Relative)));
        Assert.Equal("python", metadata.RootElement.GetProperty("platform").GetString());
        JsonElement input = metadata.RootElement.GetProperty("inputs")[0];
        Assert.Equal(("text", "BYTES"), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString()));
        Assert.Equal(["json", "label"], metadata.RootElement.GetProperty("outputs").EnumerateArray().Select(o => o.GetProperty("name").GetString()!).Order());

        JsonElement model = await server.WaitForStatusAsync(m => PythonServer.CountState(m, "ready") == 2, "two ready workers");
        JsonElement zygote = model.GetProperty("zygotes").EnumerateArray().Single();
        Assert.Equal("serving", zygote.GetProperty("state").GetString());
        Assert.Equal(0, zygote.GetProperty("generation").GetInt32());
        Assert.True(PythonServer.Exists(zygote.GetProperty("pid").GetInt32()));
        foreach (JsonElement worker in model.GetProperty("workers").EnumerateArray())
        {
            int pid = worker.GetProperty("pid").GetInt32();
            Assert.Equal(zygote.GetProperty("pid").GetInt32(), ParentOf(pid)); // forked by the zygote, not started by the front
            Assert.True(worker.GetProperty("shared_bytes").GetInt64() > 0, "a forked worker shares the zygote's pages");
            Assert.True(worker.GetProperty("pss_bytes").GetInt64() > 0);
        }
    }

    [Fact]
    public async Task ErrorsOfTheModel_AreAnsweredPerRequest_AndTheWorkerServesOn()
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "m"), """
            import os
            from sharpserve import BadInput

            class Model:
                def predict(self, data):
                    if data == b"bad":
                        raise BadInput("the text must not be 'bad'")
                    if data == b"boom":
                        raise ZeroDivisionError("secret detail " + str(1 / 1))
                    if data == b"object":
                        return object()
                    if data == b"json":
                        return {"pid": os.getpid(), "n": [1, 2]}
                    return "pid %d" % os.getpid()
            """);
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 1");

        string before = await (await server.PostLabelAsync("hello")).Content.ReadAsStringAsync();
        using HttpResponseMessage bad = await server.PostLabelAsync("bad");
        using HttpResponseMessage boom = await server.PostLabelAsync("boom");
        using HttpResponseMessage unencodable = await server.PostLabelAsync("object");
        using HttpResponseMessage json = await server.PostLabelAsync("json");
        string after = await (await server.PostLabelAsync("hello")).Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("the text must not be 'bad'", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, boom.StatusCode);
        string boomBody = await boom.Content.ReadAsStringAsync();
        Assert.Contains("ZeroDivisionError", boomBody, StringComparison.Ordinal);
        Assert.DoesNotContain("secret detail", boomBody, StringComparison.Ordinal); // the message and traceback go to the log only
        Assert.DoesNotContain("Traceback", boomBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, unencodable.StatusCode);
        Assert.Contains("object", await unencodable.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        using (JsonDocument answer = JsonDocument.Parse(await json.Content.ReadAsStringAsync()))
        {
            Assert.Equal([1, 2], answer.RootElement.GetProperty("n").EnumerateArray().Select(e => e.GetInt32()));
        }

        Assert.StartsWith("pid ", before, StringComparison.Ordinal);
        Assert.Equal(before, after); // the same worker process served on
        await server.WaitForLogAsync("Traceback (most recent call last)"); // the traceback went to the log (line by line)
    }

    [Fact]
    public async Task DeclaredTensors_GetNumpyArrays_AndTheFrontChecksDatatypeAndShape()
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "m"), """
            import numpy as np

            class Model:
                def metadata(self):
                    return {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
                            "outputs": [{"name": "y", "datatype": "FP64", "shape": [-1]}]}

                def predict(self, x):
                    assert isinstance(x, np.ndarray) and not x.flags.writeable
                    return x.astype(np.float64).sum(axis=1) * 2
            """);
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 1");
        const string body = """{"inputs":[{"name":"x","datatype":"FP32","shape":[2,3],"data":[1,2,3,4,5,6.5]}]}""";
        using JsonDocument infer = await HttpAssert.JsonAsync(await server.Client.PostAsync(
            new Uri("/v2/models/model/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")));
        JsonElement y = infer.RootElement.GetProperty("outputs")[0];
        Assert.Equal("FP64", y.GetProperty("datatype").GetString());
        Assert.Equal([12.0, 31.0], y.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()));

        using HttpResponseMessage wrongShape = await server.Client.PostAsync(new Uri("/v2/models/model/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"x","datatype":"FP32","shape":[2],"data":[1,2]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongShape.StatusCode);
        using HttpResponseMessage wrongType = await server.Client.PostAsync(new Uri("/v2/models/model/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"x","datatype":"INT32","shape":[1,3],"data":[1,2,3]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        using HttpResponseMessage label = await server.PostLabelAsync("text");
        Assert.Equal(HttpStatusCode.NotFound, label.StatusCode); // not the default contract: no /labelservice/
    }

    [Fact]
    public async Task ARepositoryServesAPythonModelFromItsVersionFolder()
    {
        string repository = Path.Combine(_directory, "repo");
        PythonServer.WriteModel(Path.Combine(repository, "echo", "1"), """
            class Model:
                def predict(self, data):
                    return "v1:" + data.decode()
            """);
        File.WriteAllText(Path.Combine(repository, "echo", "config.json"), """{"backend": "python", "entry": "model:Model"}""");
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{repository}\" --python-exe {PythonServer.Interpreter} --workers 1 --port 0");
        using var client = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        using HttpResponseMessage response = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent("hi"u8.ToArray()));
        Assert.Equal("v1:hi", await response.Content.ReadAsStringAsync());
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task LabelService_PassesTheBodyAsBytes_NotOnlyUtf8()
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "m"), """
            class Model:
                def predict(self, data):
                    return data.hex()
            """);
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 1");
        var content = new ByteArrayContent([0xff, 0x00, 0x41]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using HttpResponseMessage response = await server.Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), content);
        Assert.Equal("ff0041", await response.Content.ReadAsStringAsync());
    }

    private static int ParentOf(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
