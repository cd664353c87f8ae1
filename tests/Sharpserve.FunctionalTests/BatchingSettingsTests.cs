using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// The batching settings as an operator gives them: --max-batch-size and --batch-delay (or their variables) on the
/// real executable, a repository's config.json max_batch_size and dynamic_batching, and the start-up errors when a
/// model cannot batch or a value is wrong, each one line naming the setting.
/// </summary>
public sealed class BatchingSettingsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpserve-batching-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string OnnxModel(string name) => TestServer.DataPath("onnx", name + ".onnx");

    private string AddModel(string name, string source, string? config = null)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_root, "models", name, "1")).FullName;
        File.Copy(source, Path.Combine(folder, "model.onnx"));
        if (config is not null)
        {
            File.WriteAllText(Path.Combine(_root, "models", name, "config.json"), config);
        }

        return Path.Combine(_root, "models");
    }

    [Fact]
    public void Config_DynamicBatching_IsReadIntoTheEntry()
    {
        string repository = AddModel("mlp", OnnxModel("mlp_classifier"), """{"max_batch_size": 8, "dynamic_batching": {"max_queue_delay": "2ms", "preferred_batch_size": [8, 4, 4]}}""");

        ModelRepository scanned = ModelRepository.Scan(repository);

        Assert.Empty(scanned.Problems);
        ModelRepository.BatchingConfig batching = Assert.Single(scanned.Entries).Batching!;
        Assert.Equal(8, batching.MaxBatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(2), batching.MaxQueueDelay);
        Assert.Equal([4, 8], batching.PreferredBatchSizes);
    }

    [Theory]
    [InlineData("""{"max_batch_size": -1}""", "max_batch_size must be an integer from 0 to 4096 (0 or 1: no batching), got the number -1")]
    [InlineData("""{"max_batch_size": "8"}""", "max_batch_size must be an integer from 0 to 4096 (0 or 1: no batching), got a string")]
    [InlineData("""{"dynamic_batching": {}}""", "dynamic_batching needs \"max_batch_size\" of 2 or more, got none")]
    [InlineData("""{"max_batch_size": 1, "dynamic_batching": {}}""", "dynamic_batching needs \"max_batch_size\" of 2 or more, got 1")]
    [InlineData("""{"max_batch_size": 4, "dynamic_batching": {"preferred_batch_size": [8]}}""", "dynamic_batching.preferred_batch_size must hold sizes from 1 to max_batch_size 4, got 8")]
    [InlineData("""{"max_batch_size": 4, "dynamic_batching": {"max_queue_delay": 2}}""", "dynamic_batching.max_queue_delay must be a duration string such as \"2ms\" or \"0.5ms\", got the number 2")]
    [InlineData("""{"max_batch_size": 4, "dynamic_batching": {"delay": "1ms"}}""", "unknown field 'dynamic_batching.delay'")]
    [InlineData("""{"max_batch_size": 4, "dynamic_batching": []}""", "dynamic_batching must be an object")]
    public void Config_InvalidBatching_IsAProblemNamingTheFileAndTheField(string config, string message)
    {
        string repository = AddModel("mlp", OnnxModel("mlp_classifier"), config);

        string problem = Assert.Single(ModelRepository.Scan(repository).Problems);

        Assert.StartsWith(Path.Combine(repository, "mlp", "config.json") + ": " + message, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_BatchingAPythonModel_IsAProblem()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_root, "models", "py", "1")).FullName;
        File.WriteAllText(Path.Combine(folder, "model.py"), "");
        File.WriteAllText(Path.Combine(_root, "models", "py", "config.json"), """{"backend": "python", "max_batch_size": 4}""");

        string problem = Assert.Single(ModelRepository.Scan(Path.Combine(_root, "models")).Problems);

        Assert.Contains("max_batch_size 4: Python models do not batch yet", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve {multi_io} --max-batch-size 8 --port 0", null,
        "sharpserve: error: --max-batch-size 8: model 'multi_io' cannot be batched: its input 'a' has shape [2,3], whose first dimension is fixed at 2; batching joins requests along a variable first dimension (-1)")]
    [InlineData("serve {multi_io} --port 0", "SHARPSERVE_MAX_BATCH_SIZE=4",
        "sharpserve: error: SHARPSERVE_MAX_BATCH_SIZE 4: model 'multi_io' cannot be batched")]
    [InlineData("serve --max-batch-size 4 --workers 2", null, "sharpserve: error: --max-batch-size applies to thread mode only: worker processes (--workers) do not batch yet")]
    [InlineData("serve --batch-delay 2ms", null, "sharpserve: error: --batch-delay needs --max-batch-size N (2 or more)")]
    [InlineData("serve --max-batch-size 0", null, "sharpserve: error: --max-batch-size must be an integer from 1 to 4096, got '0'")]
    [InlineData("serve --max-batch-size 4 --batch-delay soon", null, "sharpserve: error: --batch-delay must be a duration such as 1ms, got 'soon'")]
    public async Task Mistake_IsOneLine_ExitCode2(string arguments, string? environment, string line)
    {
        var variables = new Dictionary<string, string>();
        if (environment is not null)
        {
            string[] pair = environment.Split('=', 2);
            variables[pair[0]] = pair[1];
        }

        (int code, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            arguments.Replace("{multi_io}", $"\"{OnnxModel("multi_io")}\"", StringComparison.Ordinal), cacheDir: _root, environment: variables);

        Assert.Equal(2, code);
        string only = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith(line, only, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repository_ModelThatCannotBatch_IsRefusedNamingItsConfig()
    {
        string repository = AddModel("multi", OnnxModel("multi_io"), """{"max_batch_size": 4}""");

        (int code, _, string stderr) = await SharpserveProcess.RunAsync($"serve --model-repository \"{repository}\" --port 0", cacheDir: _root);

        Assert.Equal(2, code);
        Assert.StartsWith(
            $"sharpserve: error: {Path.Combine(repository, "multi", "config.json")}: max_batch_size 4: model 'multi' cannot be batched: its input 'a' has shape [2,3]",
            Assert.Single(stderr.Trim().Split('\n')),
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repository_AModelsConfigWinsOverTheFlags_AndStatusShowsEach()
    {
        AddModel("mlp", OnnxModel("mlp_classifier"), """{"max_batch_size": 8, "dynamic_batching": {"preferred_batch_size": [2, 8]}}""");
        string repository = AddModel("plain", OnnxModel("matmul"));

        await using ServedProcess served = await ServedProcess.StartAsync(
            $"--model-repository \"{repository}\" --port 0 --threads 1 --max-batch-size 4 --batch-delay 3ms", _root);
        using JsonDocument status = JsonDocument.Parse(await served.Client.GetStringAsync(new Uri("/status", UriKind.Relative)));

        JsonElement[] models = [.. status.RootElement.GetProperty("models").EnumerateArray()];
        JsonElement mlp = models.Single(m => m.GetProperty("name").GetString() == "mlp").GetProperty("batching");
        JsonElement plain = models.Single(m => m.GetProperty("name").GetString() == "plain").GetProperty("batching");
        Assert.Equal(8, mlp.GetProperty("max_batch_size").GetInt32());
        Assert.Equal(0.003, mlp.GetProperty("max_queue_delay_seconds").GetDouble(), 9); // the flag's delay, as the config gives none
        Assert.Equal([2, 8], mlp.GetProperty("preferred_batch_sizes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(4, plain.GetProperty("max_batch_size").GetInt32());
        Assert.Equal(0, plain.GetProperty("preferred_batch_sizes").GetArrayLength());
    }

    [Fact]
    public async Task RepositoryLoad_GivesTheModelItsBatching_AndRefusesOneThatCannotBatch()
    {
        const string Token = "0123456789abcdef0123456789abcdef";
        string tokenFile = Path.Combine(_root, "token");
        File.WriteAllText(tokenFile, Token + "\n");
        string repository = AddModel("first", OnnxModel("matmul"));

        await using ServedProcess served = await ServedProcess.StartAsync(
            $"--model-repository \"{repository}\" --port 0 --threads 1 --model-control explicit --admin-token-file \"{tokenFile}\"", _root);
        AddModel("mlp", OnnxModel("mlp_classifier"), """{"max_batch_size": 4}""");
        AddModel("multi", OnnxModel("multi_io"), """{"max_batch_size": 4}""");

        using (HttpResponseMessage loaded = await LoadAsync(served.Client, "mlp", Token))
        {
            Assert.Equal(HttpStatusCode.OK, loaded.StatusCode);
        }

        await HttpAssert.ErrorAsync(await LoadAsync(served.Client, "multi", Token), HttpStatusCode.BadRequest, "model 'multi' cannot be batched: its input 'a' has shape [2,3]");
        using JsonDocument status = JsonDocument.Parse(await served.Client.GetStringAsync(new Uri("/status", UriKind.Relative)));
        JsonElement mlp = status.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "mlp");
        Assert.Equal(4, mlp.GetProperty("batching").GetProperty("max_batch_size").GetInt32());
        Assert.DoesNotContain(status.RootElement.GetProperty("models").EnumerateArray(), m => m.GetProperty("name").GetString() == "multi");
    }

    [Fact]
    public async Task StatusCommand_PrintsTheBatchingOfABatchingModel()
    {
        await using ServedProcess served = await ServedProcess.StartAsync(
            $"\"{OnnxModel("mlp_classifier")}\" --port 0 --threads 1 --max-batch-size 8 --batch-delay 2ms", _root);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {served.Client.BaseAddress}");

        Assert.True(exitCode == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("model mlp_classifier version 1: thread mode", lines[1], StringComparison.Ordinal);
        Assert.Matches(@"^  batching: at most 8 requests per call, delay 2 ms; \d+ calls, mean batch size [\d.]+$", lines[2]);
    }

    private static Task<HttpResponseMessage> LoadAsync(HttpClient client, string model, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v2/repository/models/{model}/load", UriKind.Relative))
        {
            Content = new StringContent(""),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client.SendAsync(request);
    }
}
