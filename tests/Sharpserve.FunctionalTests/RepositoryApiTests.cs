using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Sharpserve.Http;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Triton's repository API on the real executable: <c>POST /v2/repository/index</c>, and load / unload with
/// <c>--model-control explicit</c>, the admin token and a peer on this machine.
/// </summary>
public sealed class RepositoryApiTests : IDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-repo-api-").FullName;
    private readonly string _repository;
    private readonly string _cache;
    private readonly string _tokenFile;

    public RepositoryApiTests()
    {
        _repository = Path.Combine(_temp, "models");
        _cache = Path.Combine(_temp, "cache");
        _tokenFile = Path.Combine(_temp, "token");
        File.WriteAllText(_tokenFile, Token + "\n");
        Copy(TestServer.DataPath("fasttext", "models", "softmax-default.bin"), "licenses/1/model.bin");
    }

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private void Copy(string source, string relativePath)
    {
        string path = Path.Combine(_repository, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(source, path);
    }

    private string Explicit => $"--model-control explicit --admin-token-file \"{_tokenFile}\"";

    private async Task<(SharpserveProcess Process, HttpClient Client)> StartAsync(string extra, string? arguments = null)
    {
        SharpserveProcess process = SharpserveProcess.Start(
            arguments ?? $"serve --model-repository \"{_repository}\" --cache-dir \"{_cache}\" --port 0 --threads 1 {extra}", _cache);
        Uri address = await process.WaitForAddressAsync();
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        return (process, client);
    }

    private static async Task StopAsync(SharpserveProcess process, HttpClient client)
    {
        client.Dispose();
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string body = "", string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client.SendAsync(request);
    }

    /// <summary>The index as "name/version STATE reason" rows.</summary>
    private static async Task<string[]> IndexAsync(HttpClient client, string body = "")
    {
        using JsonDocument index = await HttpAssert.JsonAsync(await PostAsync(client, "/v2/repository/index", body));
        return [.. index.RootElement.EnumerateArray().Select(row =>
            $"{row.GetProperty("name").GetString()}/{(row.TryGetProperty("version", out JsonElement v) ? v.GetString() : "")} " +
            $"{row.GetProperty("state").GetString()} {row.GetProperty("reason").GetString()}".TrimEnd())];
    }

    private static async Task AssertOnnxAnswerAsync(HttpClient client)
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(TestServer.DataPath("onnx", "mlp_classifier.expected.json")));
        string body = $$"""{"inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";
        using JsonDocument answer = await HttpAssert.JsonAsync(await PostAsync(client, "/v2/models/mlp/infer", body));
        OnnxServingTests.AssertOutputsMatch(expected.RootElement.GetProperty("outputs"), answer.RootElement.GetProperty("outputs"));
    }

    [Fact]
    public async Task Index_WithoutModelControl_ListsTheRepository_AndLoadIsRefused()
    {
        (SharpserveProcess process, HttpClient client) = await StartAsync("");
        Copy(TestServer.DataPath("onnx", "mlp_classifier.onnx"), "mlp/1/model.onnx");

        Assert.Equal(["licenses/1 READY", "mlp/1 UNAVAILABLE not loaded"], await IndexAsync(client));
        Assert.Equal(["licenses/1 READY"], await IndexAsync(client, """{"ready": true}"""));
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/index", """{"ready": 1}"""), HttpStatusCode.BadRequest, "\"ready\" must be true or false");

        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp/load", token: Token), HttpStatusCode.Forbidden, "--model-control explicit");
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/licenses/unload", token: Token), HttpStatusCode.Forbidden, "--model-control explicit");
        await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/v2/models/licenses", UriKind.Relative)));
        await StopAsync(process, client);
    }

    [Fact]
    public async Task Index_WithoutRepository_ListsTheServedModel()
    {
        (SharpserveProcess process, HttpClient client) = await StartAsync("", $"serve \"{TestServer.DemoModelPath}\" --cache-dir \"{_cache}\" --port 0 --threads 1");

        Assert.Equal(["langid/1 READY"], await IndexAsync(client));
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/langid/unload", token: Token), HttpStatusCode.Forbidden, "--model-control explicit");
        await StopAsync(process, client);
    }

    [Fact]
    public async Task Load_ModelAddedAfterStart_NeedsTheTokenAndAModelName_ThenServes()
    {
        (SharpserveProcess process, HttpClient client) = await StartAsync(Explicit);
        Copy(TestServer.DataPath("onnx", "mlp_classifier.onnx"), "mlp/1/model.onnx");

        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp/load"), HttpStatusCode.Unauthorized, "needs the admin token");
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp/load", token: Token + "x"), HttpStatusCode.Unauthorized, "needs the admin token");
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/..%2Fmodels%2Fmlp/load", token: Token), HttpStatusCode.BadRequest, "is not a model name");
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp..x/load", token: Token), HttpStatusCode.BadRequest, "is not a model name");
        // Kestrel removes dot segments before routing: this is POST /v2/repository/load, no endpoint.
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/%2E%2E/load", token: Token), HttpStatusCode.NotFound, "no endpoint");
        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/nope/load", token: Token), HttpStatusCode.NotFound, "no model folder 'nope'");
        await HttpAssert.ErrorAsync(
            await PostAsync(client, "/v2/repository/models/mlp/load", """{"parameters": {"config": "{\"backend\": \"onnxruntime\"}"}}""", Token),
            HttpStatusCode.BadRequest, "parameter 'config' is refused");
        await HttpAssert.ErrorAsync(
            await PostAsync(client, "/v2/repository/models/mlp/load", """{"parameters": {"file:1/model.onnx": "AAAA"}}""", Token),
            HttpStatusCode.BadRequest, "parameter 'file:1/model.onnx' is refused");
        await HttpAssert.ErrorAsync(await client.GetAsync(new Uri("/v2/models/mlp", UriKind.Relative)), HttpStatusCode.NotFound, "unknown model 'mlp'");

        using (HttpResponseMessage load = await PostAsync(client, "/v2/repository/models/mlp/load", "{}", Token))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        await AssertOnnxAnswerAsync(client);
        Assert.Equal(["licenses/1 READY", "mlp/1 READY"], await IndexAsync(client));
        string metrics = await client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("sharpserve_model_ready{model=\"mlp\",version=\"1\"} 1\n", metrics, StringComparison.Ordinal);
        using (HttpResponseMessage again = await PostAsync(client, "/v2/repository/models/mlp/load", token: Token))
        {
            Assert.Equal(HttpStatusCode.OK, again.StatusCode); // already loaded: nothing changes
        }

        await StopAsync(process, client);
    }

    [Fact]
    public async Task Unload_WithARequestInFlight_AnswersIt_ThenTheModelIsGone()
    {
        string gate = Path.Combine(_temp, "gate");
        Directory.CreateDirectory(Path.Combine(_repository, "slow", "1"));
        File.WriteAllText(Path.Combine(_repository, "slow", "config.json"), """{"backend": "python"}""");
        File.WriteAllText(Path.Combine(_repository, "slow", "1", "model.py"), $$"""
            import os, time
            class Model:
                def predict(self, data):
                    if data in (b"slow", "slow"):
                        print("slow request started", flush=True)
                        while not os.path.exists({{JsonSerializer.Serialize(gate)}}):
                            time.sleep(0.01)
                    return "done"
            """.ReplaceLineEndings("\n"));
        (SharpserveProcess process, HttpClient client) = await StartAsync(Explicit + $" --python-exe {Python.PythonServer.Interpreter}");
        const string Infer = """{"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["slow"]}]}""";

        Task<HttpResponseMessage> inFlight = PostAsync(client, "/v2/models/slow/infer", Infer);
        await process.WaitForOutputAsync("slow request started");
        Task<HttpResponseMessage> unload = PostAsync(client, "/v2/repository/models/slow/unload", token: Token);
        await process.WaitForOutputAsync("Unloading model 'slow'");

        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/models/slow/infer", Infer), HttpStatusCode.NotFound, "unknown model 'slow'");
        Assert.Contains("slow/1 UNLOADING waiting for the requests received before the unload", await IndexAsync(client));
        Assert.False(unload.IsCompleted); // it waits for the request the model is running

        File.WriteAllText(gate, "");
        using (JsonDocument answer = await HttpAssert.JsonAsync(await inFlight))
        {
            Assert.Equal("done", answer.RootElement.GetProperty("outputs")[0].GetProperty("data")[0].GetString());
        }

        using (HttpResponseMessage unloaded = await unload)
        {
            Assert.Equal(HttpStatusCode.OK, unloaded.StatusCode);
        }

        Assert.Equal(["licenses/1 READY", "slow/1 UNAVAILABLE unloaded"], await IndexAsync(client));
        using (JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative))))
        {
            Assert.Equal(["licenses"], status.RootElement.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        }

        Assert.DoesNotContain("model=\"slow\"", await client.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
        await StopAsync(process, client);
    }

    [Fact]
    public async Task Load_OverMaxModelMemory_IsRefusedBeforeAnythingIsPrepared()
    {
        long licenses = new FileInfo(Path.Combine(_repository, "licenses", "1", "model.bin")).Length;
        (SharpserveProcess process, HttpClient client) = await StartAsync(Explicit + $" --max-model-memory {licenses + 100}");
        Copy(TestServer.DataPath("onnx", "mlp_classifier.onnx"), "mlp/1/model.onnx");
        string[] cacheBefore = [.. Directory.EnumerateFileSystemEntries(_cache, "*", SearchOption.AllDirectories).Order()];

        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp/load", token: Token), HttpStatusCode.BadRequest, "over --max-model-memory");

        Assert.Equal(cacheBefore, Directory.EnumerateFileSystemEntries(_cache, "*", SearchOption.AllDirectories).Order());
        string[] index = await IndexAsync(client);
        Assert.StartsWith("mlp/1 UNAVAILABLE model 'mlp' needs about", index[1], StringComparison.Ordinal);

        // Unloading makes room; /labelservice/ then has the next model as its default, which is no text classifier.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "/v2/repository/models/licenses/unload", token: Token)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "/v2/repository/models/mlp/load", token: Token)).StatusCode);
        await AssertOnnxAnswerAsync(client);
        await HttpAssert.ErrorAsync(await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("x")), HttpStatusCode.NotFound, "model 'mlp' is not one");
        await StopAsync(process, client);
    }

    [Fact]
    public async Task Load_FromANonLoopbackPeer_IsRefusedEvenWithTheToken()
    {
        Assert.False(AdminAccess.IsLocalPeer(new IPEndPoint(IPAddress.Any, 80), IPAddress.Parse("192.0.2.10")));
        Assert.True(AdminAccess.IsLocalPeer(new IPEndPoint(IPAddress.Loopback, 80), IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.True(AdminAccess.IsLocalPeer(new UnixDomainSocketEndPoint("/tmp/s.sock"), null));

        IPAddress? own = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (own is null)
        {
            return; // no address but loopback on this machine: the decision above is what applies
        }

        (SharpserveProcess process, HttpClient client) = await StartAsync(Explicit, $"serve --model-repository \"{_repository}\" --cache-dir \"{_cache}\" --bind 0.0.0.0:0 --threads 1 {Explicit}");
        using var remote = new HttpClient { BaseAddress = new Uri($"http://{own}:{client.BaseAddress!.Port}/") };
        await HttpAssert.ErrorAsync(await PostAsync(remote, "/v2/repository/models/licenses/unload", token: Token), HttpStatusCode.Forbidden, "only from this machine");
        Assert.Equal(["licenses/1 READY"], await IndexAsync(remote));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, "/v2/repository/models/licenses/unload", token: Token)).StatusCode);
        await StopAsync(process, client);
    }

    [Theory]
    [InlineData("--model-control explicit", 2, "--model-control explicit needs --admin-token-file FILE (or --admin-token")]
    [InlineData("--model-control sometimes", 2, "must be none or explicit")]
    [InlineData("--admin-token-file TOKEN", 2, "applies to --model-control explicit only")]
    [InlineData("--model-control explicit --admin-token-file SHORT", 2, "must hold a token of at least 16 characters")]
    [InlineData("--model-control explicit --admin-token-file MISSING", 2, "must be a readable file holding the admin token")]
    [InlineData("--model-control explicit --admin-token abc", 2, "must be a token of at least 16 characters")]
    [InlineData("--model-control explicit --admin-token-file TOKEN --admin-token 0123456789abcdef0", 2, "not both")]
    [InlineData("--max-model-memory 1k", 1, "over --max-model-memory")]
    public async Task Serve_ModelControlSettings_AreChecked(string flags, int exitCode, string message)
    {
        File.WriteAllText(Path.Combine(_temp, "short"), "abc\n");
        flags = flags.Replace("TOKEN", $"\"{_tokenFile}\"", StringComparison.Ordinal)
            .Replace("SHORT", $"\"{Path.Combine(_temp, "short")}\"", StringComparison.Ordinal)
            .Replace("MISSING", $"\"{Path.Combine(_temp, "missing")}\"", StringComparison.Ordinal);
        (int exit, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve --model-repository \"{_repository}\" --port 0 {flags}", cacheDir: _cache);

        Assert.Equal(exitCode, exit);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheTokenMayComeFromTheEnvironment_AndLoadAcceptsOnlyIt()
    {
        SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{_repository}\" --cache-dir \"{_cache}\" --port 0 --threads 1 --model-control explicit",
            _cache, environment: new Dictionary<string, string> { ["SHARPSERVE_ADMIN_TOKEN"] = Token });
        using var client = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        Copy(TestServer.DataPath("onnx", "mlp_classifier.onnx"), "mlp/1/model.onnx");

        await HttpAssert.ErrorAsync(await PostAsync(client, "/v2/repository/models/mlp/load", token: Token + "x"), HttpStatusCode.Unauthorized, "needs the admin token");
        using (HttpResponseMessage load = await PostAsync(client, "/v2/repository/models/mlp/load", "{}", Token))
        {
            Assert.Equal(HttpStatusCode.OK, load.StatusCode);
        }

        Assert.DoesNotContain(Token, process.StandardOutput, StringComparison.Ordinal);
        process.SendSignal(15);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        process.Dispose();
    }

    [Fact]
    public async Task Serve_ExplicitModelControl_NeedsARepository()
    {
        (int exit, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve \"{TestServer.DemoModelPath}\" --port 0 --model-control explicit --admin-token-file \"{_tokenFile}\"", cacheDir: _cache);

        Assert.Equal(2, exit);
        Assert.Contains("--model-control explicit needs --model-repository DIR", stderr, StringComparison.Ordinal);
    }
}
