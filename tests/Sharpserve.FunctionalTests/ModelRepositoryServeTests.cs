using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>sharpserve serve --model-repository DIR</c> with the real executable, on a temp repository holding a fastText
/// model in two versions (two different test models, so the answer says which version ran) and an ONNX model.
/// Answers are compared with the committed references: fastText's CLI output and the ONNX numpy outputs.
/// </summary>
public sealed class ModelRepositoryServeTests : IDisposable
{
    private const int SigTerm = 15;

    // Version 1 and 2 of "licenses"; "licenses" sorts before "mlp", so it is the default model.
    private const string Version1Model = "softmax-default";
    private const string Version2Model = "hs-sub";

    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-repo-serve-").FullName;
    private readonly string _repository;
    private readonly string _cache;

    public ModelRepositoryServeTests()
    {
        _repository = Path.Combine(_temp, "models");
        _cache = Path.Combine(_temp, "cache");
        Copy(TestServer.DataPath("fasttext", "models", Version1Model + ".bin"), "licenses/1/model.bin");
        Copy(TestServer.DataPath("fasttext", "models", Version2Model + ".bin"), "licenses/2/model.bin");
        Write("licenses/config.json", """{"version_policy": {"all": {}}}""");
        Copy(TestServer.DataPath("onnx", "mlp_classifier.onnx"), "mlp/1/model.onnx");
        Write("mlp/config.json", """{"name": "mlp", "backend": "onnxruntime"}""");
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private void Copy(string source, string relativePath)
    {
        string path = Path.Combine(_repository, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(source, path);
    }

    private void Write(string relativePath, string content)
    {
        string path = Path.Combine(_repository, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    private static string[] InputLines() => File.ReadAllLines(TestServer.DataPath("fasttext", "input.txt"))[..3];

    /// <summary>The first three lines of `fasttext predict-prob MODEL input.txt 1`.</summary>
    private static string[] Golden(string model) =>
        File.ReadAllLines(TestServer.DataPath("fasttext", "golden", model + ".k1.txt"))[..3];

    private static async Task<JsonDocument> PostAsync(HttpClient client, string path, string body, HttpStatusCode status = HttpStatusCode.OK)
    {
        using HttpResponseMessage response = await client.PostAsync(
            new Uri(path, UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        return await HttpAssert.JsonAsync(response, status);
    }

    private static async Task<JsonDocument> GetAsync(HttpClient client, string path, HttpStatusCode status = HttpStatusCode.OK)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return await HttpAssert.JsonAsync(response, status);
    }

    /// <summary>Infers the three input lines at <paramref name="path"/> and checks the version answered and its outputs.</summary>
    private static async Task AssertFastTextAnswerAsync(HttpClient client, string path, string version, string goldenModel)
    {
        string body = JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { 3 }, data = InputLines() } },
        });
        using JsonDocument answer = await PostAsync(client, path, body);

        Assert.Equal("licenses", answer.RootElement.GetProperty("model_name").GetString());
        Assert.Equal(version, answer.RootElement.GetProperty("model_version").GetString());
        JsonElement outputs = answer.RootElement.GetProperty("outputs");
        string[] expected = Golden(goldenModel);
        Assert.Equal("[3,1]", outputs[0].GetProperty("shape").GetRawText());
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], FastTextGolden.AsCliLine(outputs, i));
        }
    }

    private static async Task AssertOnnxAnswerAsync(HttpClient client, string path)
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(TestServer.DataPath("onnx", "mlp_classifier.expected.json")));
        string body = $$"""{"inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";
        using JsonDocument answer = await PostAsync(client, path, body);

        Assert.Equal("1", answer.RootElement.GetProperty("model_version").GetString());
        OnnxServingTests.AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
    }

    private static string[] Versions(JsonDocument metadata) =>
        [.. metadata.RootElement.GetProperty("versions").EnumerateArray().Select(v => v.GetString()!)];

    [Fact]
    public async Task Serve_Repository_ServesEveryModelAndVersion()
    {
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{_repository}\" --cache-dir \"{_cache}\" --port 0 --threads 1", _cache);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        using (JsonDocument metadata = await GetAsync(client, "/v2/models/licenses"))
        {
            Assert.Equal(["1", "2"], Versions(metadata));
            Assert.Equal("fasttext", metadata.RootElement.GetProperty("platform").GetString());
        }

        using (JsonDocument metadata = await GetAsync(client, "/v2/models/licenses/versions/1"))
        {
            Assert.Equal(["1"], Versions(metadata));
        }

        using (JsonDocument metadata = await GetAsync(client, "/v2/models/mlp"))
        {
            Assert.Equal(["1"], Versions(metadata));
            Assert.Equal("onnxruntime_onnx", metadata.RootElement.GetProperty("platform").GetString());
        }

        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/infer", "2", Version2Model); // the highest version
        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/versions/2/infer", "2", Version2Model);
        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/versions/1/infer", "1", Version1Model);
        await AssertOnnxAnswerAsync(client, "/v2/models/mlp/infer");
        await AssertOnnxAnswerAsync(client, "/v2/models/mlp/versions/1/infer");

        using (JsonDocument ready = await GetAsync(client, "/v2/models/licenses/versions/1/ready"))
        {
            Assert.Equal("1", ready.RootElement.GetProperty("version").GetString());
            Assert.True(ready.RootElement.GetProperty("ready").GetBoolean());
        }

        using (HttpResponseMessage unknownVersion = await client.PostAsync(
            new Uri("/v2/models/licenses/versions/3/infer", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            await HttpAssert.ErrorAsync(unknownVersion, HttpStatusCode.NotFound, "model 'licenses' has no version '3' (versions: 1, 2)");
        }

        await HttpAssert.ErrorAsync(await client.GetAsync(new Uri("/v2/models/mlp/versions/2", UriKind.Relative)), HttpStatusCode.NotFound, "(versions: 1)");
        await HttpAssert.ErrorAsync(await client.GetAsync(new Uri("/v2/models/nope/versions/1/ready", UriKind.Relative)), HttpStatusCode.NotFound, "unknown model 'nope'");
        using (HttpResponseMessage unknownModel = await client.PostAsync(
            new Uri("/v2/models/nope/infer", UriKind.Relative), new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            await HttpAssert.ErrorAsync(unknownModel, HttpStatusCode.NotFound, "unknown model 'nope'");
        }

        // /labelservice/ is the first model in name order, at its highest version.
        using (HttpResponseMessage label = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(InputLines()[0])))
        {
            Assert.Equal(HttpStatusCode.OK, label.StatusCode);
            Assert.Equal(Golden(Version2Model)[0].Split(' ')[0], await label.Content.ReadAsStringAsync());
        }

        using (JsonDocument status = await GetAsync(client, "/status"))
        {
            string[] served = [.. status.RootElement.GetProperty("models").EnumerateArray()
                .Select(m => $"{m.GetProperty("name").GetString()}/{m.GetProperty("version").GetString()}")];
            Assert.Equal(["licenses/1", "licenses/2", "mlp/1"], served);
        }

        string metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("sharpserve_model_ready{model=\"licenses\",version=\"1\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("sharpserve_inferences_total{model=\"mlp\",version=\"1\"} ", metrics, StringComparison.Ordinal);

        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_RepositoryWithName_ServesTheFolderItself_AsKServeLaysOutOneModel()
    {
        // KServe puts a storage URI's content at /mnt/models: for one fastText model, the file itself.
        string single = Directory.CreateDirectory(Path.Combine(_temp, "mnt-models")).FullName;
        File.Copy(TestServer.DataPath("fasttext", "models", Version1Model + ".bin"), Path.Combine(single, "model.bin"));
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{single}\" --name licenses --cache-dir \"{_cache}\" --port 0", _cache);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/infer", "1", Version1Model);

        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_RepositoryWithName_ServesThatModelOnly()
    {
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{_repository}\" --name mlp --cache-dir \"{_cache}\" --port 0", _cache);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        await AssertOnnxAnswerAsync(client, "/v2/models/mlp/infer");
        using HttpResponseMessage other = await client.GetAsync(new Uri("/v2/models/licenses", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);

        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Serve_RepositoryFromTheEnvironment_InProcessMode_ServesEveryVersionFromWorkers()
    {
        var environment = new Dictionary<string, string> { ["SHARPSERVE_MODEL_REPOSITORY"] = _repository };
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --cache-dir \"{_cache}\" --port 0 --workers 1", _cache, environment: environment);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/infer", "2", Version2Model);
        await AssertFastTextAnswerAsync(client, "/v2/models/licenses/versions/1/infer", "1", Version1Model);
        await AssertOnnxAnswerAsync(client, "/v2/models/mlp/versions/1/infer");

        // One pool of --workers 1 per (model, version).
        using (JsonDocument status = await GetAsync(client, "/status"))
        {
            JsonElement[] models = [.. status.RootElement.GetProperty("models").EnumerateArray()];
            Assert.Equal(3, models.Length);
            Assert.All(models, m => Assert.Equal("process", m.GetProperty("mode").GetString()));
            Assert.All(models, m => Assert.Equal(1, m.GetProperty("workers").GetArrayLength()));
            Assert.Equal(3, models.Select(m => m.GetProperty("workers")[0].GetProperty("pid").GetInt32()).Distinct().Count());
        }

        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("serve model.bin --model-repository {repo}", "give either MODEL ('model.bin') or --model-repository ('{repo}'), not both")]
    [InlineData("serve --model-repository {repo} --name x --model-control explicit --admin-token t", "--name serves one model of --model-repository; the repository API")]
    [InlineData("serve --model-repository {repo} --name x", "{repo}: no model file; expected model.onnx (ONNX) or model.bin (fastText)")]
    [InlineData("serve --model-repository {repo}/missing", "--model-repository '{repo}/missing' does not exist")]
    [InlineData("serve --model-repository https://example.com/models", "not from URLs")]
    [InlineData("serve --model-repository {repo}/licenses/1", "{repo}/licenses/1: the model repository has no models")]
    public async Task Serve_BadRepositoryUsage_PrintsOneLine_AndExitsTwo(string arguments, string message)
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            arguments.Replace("{repo}", _repository, StringComparison.Ordinal), cacheDir: _cache);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("sharpserve: error: ", line, StringComparison.Ordinal);
        Assert.Contains(message.Replace("{repo}", _repository, StringComparison.Ordinal), line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_ModelAndRepositoryFromTheEnvironment_NamesTheVariable()
    {
        var environment = new Dictionary<string, string> { ["SHARPSERVE_MODEL_REPOSITORY"] = _repository };

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync("serve model.bin", cacheDir: _cache, environment: environment);

        Assert.Equal(2, exitCode);
        Assert.Contains($"give either MODEL ('model.bin') or SHARPSERVE_MODEL_REPOSITORY ('{_repository}'), not both", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_RepositoryWithSeveralProblems_ReportsThemAll_AndExitsTwo()
    {
        Write("licenses/config.json", """{"version_policy": {"specific": {"versions": [1, 5]}}}""");
        Directory.CreateDirectory(Path.Combine(_repository, "mlp", "2"));
        Write("mlp/config.json", """{"name": "mlp", "instance_group": []}""");

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"serve --model-repository \"{_repository}\" --port 0", cacheDir: _cache);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        string[] lines = stderr.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Contains(lines, l => l.Contains(Path.Combine(_repository, "licenses", "config.json") + ": version_policy.specific lists version 5", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(Path.Combine(_repository, "mlp", "config.json") + ": unknown field 'instance_group'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_RepositoryWithUnusableModels_NamesEachFile_AndExitsOne()
    {
        File.Copy(TestServer.DataPath("onnx", "truncated.onnx"), Path.Combine(_repository, "mlp", "1", "model.onnx"), overwrite: true);
        byte[] fastText = File.ReadAllBytes(TestServer.DataPath("fasttext", "models", Version1Model + ".bin"));
        File.WriteAllBytes(Path.Combine(_repository, "licenses", "1", "model.bin"), fastText.AsSpan(0, 1000).ToArray());

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve --model-repository \"{_repository}\" --cache-dir \"{_cache}\" --port 0", cacheDir: _cache);

        Assert.Equal(1, exitCode);
        string[] lines = stderr.Trim().Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.StartsWith("sharpserve: error: ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(Path.Combine(_repository, "licenses", "1", "model.bin"), StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(Path.Combine(_repository, "mlp", "1", "model.onnx"), StringComparison.Ordinal));
    }
}
