using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using Inference;
using Sharpserve.FunctionalTests;

namespace Sharpserve.Deploy.Tests;

/// <summary>
/// The ServingRuntime's contract, run with the real executable and exactly the runtime's arguments read from
/// deploy/kserve/sharpserve-runtime.yaml: ports 8080 and 9000 replaced by 0 (free ports the server picks and logs),
/// /mnt/models by a read-only copy of a model folder laid out as KServe lays out one model, {{.Name}} by the
/// model's name, the cache directory by a temp folder. HOME, TMPDIR and the working directory are empty temp folders
/// which, like the model folder, must be left as they were: the server writes to its cache directory only.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServingRuntimeContractTests : IDisposable
{
    private const int SigTerm = 15;
    private const string ModelName = "langid";

    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-contract-").FullName;
    private readonly string _models;
    private readonly string _cache;
    private readonly string _home;
    private readonly string _tmp;
    private readonly string _work;

    public ServingRuntimeContractTests()
    {
        _models = Directory.CreateDirectory(Path.Combine(_temp, "mnt-models")).FullName;
        _cache = Path.Combine(_temp, "cache", "sharpserve");
        _home = Directory.CreateDirectory(Path.Combine(_temp, "home")).FullName;
        _tmp = Directory.CreateDirectory(Path.Combine(_temp, "tmp")).FullName;
        _work = Directory.CreateDirectory(Path.Combine(_temp, "work")).FullName;
    }

    public void Dispose()
    {
        foreach (string path in Directory.EnumerateFileSystemEntries(_models, "*", SearchOption.AllDirectories).Prepend(_models))
        {
            File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserWrite);
        }

        Directory.Delete(_temp, recursive: true);
    }

    /// <summary>
    /// The runtime's arguments with KServe's values replaced by the test's; each must appear exactly once. Ports 0
    /// let the server pick free ones, which it logs.
    /// </summary>
    private async Task<string> ArgumentsAsync(string name = ModelName, int httpPort = 0, int grpcPort = 0)
    {
        List<string> arguments = [.. (await RuntimeArguments.OfRuntimeAsync()).All];
        Replace(arguments, "--model-repository", "/mnt/models", _models);
        Replace(arguments, "--name", "{{.Name}}", name);
        Replace(arguments, "--port", "8080", httpPort.ToString(CultureInfo.InvariantCulture));
        Replace(arguments, "--grpc-port", "9000", grpcPort.ToString(CultureInfo.InvariantCulture));
        Replace(arguments, "--cache-dir", "/tmp/sharpserve", _cache);
        Assert.Equal("serve", arguments[0]);
        return string.Join(' ', arguments.Select(a => $"\"{a}\""));
    }

    private static void Replace(List<string> arguments, string flag, string kserveValue, string value)
    {
        int at = arguments.IndexOf(flag);
        Assert.True(at >= 0 && at == arguments.LastIndexOf(flag), $"the runtime's arguments give {flag} once");
        Assert.Equal(kserveValue, arguments[at + 1]);
        arguments[at + 1] = value;
    }

    /// <summary>The model folder as KServe leaves it: read-only files in a read-only folder.</summary>
    private void MakeModelsReadOnly()
    {
        const UnixFileMode ReadOnlyFile = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        const UnixFileMode ReadOnlyFolder = ReadOnlyFile | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        foreach (string path in Directory.EnumerateFileSystemEntries(_models, "*", SearchOption.AllDirectories).Append(_models))
        {
            File.SetUnixFileMode(path, Directory.Exists(path) ? ReadOnlyFolder : ReadOnlyFile);
        }
    }

    [Fact]
    public async Task TheRuntimesArguments_ServeAFastTextModel_OverHttpAndGrpc_WritingOnlyToTheCache()
    {
        File.Copy(RepositoryFiles.DataPath("langid.bin"), Path.Combine(_models, "model.bin"));
        MakeModelsReadOnly();
        (string Path, TreeSnapshot Before)[] untouched = [.. new[] { _models, _home, _tmp, _work }.Select(p => (p, TreeSnapshot.Take(p, withRoot: p != _tmp)))];
        var environment = new Dictionary<string, string> { ["HOME"] = _home, ["TMPDIR"] = _tmp, ["XDG_CACHE_HOME"] = "" };

        using (SharpserveProcess server = SharpserveProcess.Start(await ArgumentsAsync(), environment: environment, workingDirectory: _work))
        {
            Uri http = await server.WaitForAddressAsync();
            Uri grpc = await server.WaitForGrpcAddressAsync();
            using var client = new HttpClient { BaseAddress = http, Timeout = TimeSpan.FromSeconds(30) };

            await AssertLiveUntilReadyAsync(client);
            await AssertHttpInferAsync(client);
            await AssertGrpcInferAsync(grpc);

            // In TMPDIR, only the .NET runtime's own diagnostic endpoints while it runs (docs/deploy.md): a socket and
            // the debugger's two pipes, no data, removed at exit.
            Assert.All(Directory.EnumerateFileSystemEntries(_tmp), e => Assert.Matches(@"^(dotnet-diagnostic-\d+-\d+-socket|clr-debug-pipe-\d+-\d+-(in|out))$", Path.GetFileName(e)));

            server.SendSignal(SigTerm);
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }

        foreach ((string path, TreeSnapshot before) in untouched)
        {
            List<string> changes = TreeSnapshot.Take(path, withRoot: path != _tmp).ChangesSince(before);
            Assert.True(changes.Count == 0, $"the server wrote to {path}:\n{string.Join('\n', changes)}");
        }

        Assert.NotEmpty(Directory.EnumerateFiles(_cache, "*", SearchOption.AllDirectories)); // the model image it prepared
    }

    [Fact]
    public async Task TheRuntimesArguments_AnswerLiveness_WhileAModelIsStillLoading()
    {
        // A Python model whose load() lasts until the test opens its gate: the server is loading it for as long as
        // the test needs. Liveness is only answered during the load at a port known in advance, as KServe's is.
        foreach (string file in Directory.EnumerateFiles(RepositoryFiles.DataPath("python", "gated_model")))
        {
            File.Copy(file, Path.Combine(_models, Path.GetFileName(file)));
        }

        MakeModelsReadOnly();
        string gate = Path.Combine(_temp, "gate");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = _home, ["TMPDIR"] = _tmp, ["SHARPSERVE_TEST_GATE"] = gate, ["PYTHONDONTWRITEBYTECODE"] = "1",
            ["SHARPSERVE_PYTHON_EXE"] = ToolRun.Python, // Debian's, as in the other Python tests; the image has only one
        };
        (int httpPort, int grpcPort) = FreePorts();
        using SharpserveProcess server = SharpserveProcess.Start(
            await ArgumentsAsync("gated", httpPort, grpcPort), environment: environment, workingDirectory: _work);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(30) };

        // Loading (the gate is shut): alive, not ready.
        HttpStatusCode live = await FirstAnswerAsync(client, "/v2/health/live", server);
        Assert.Equal(HttpStatusCode.OK, live);
        using (HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        Assert.False(File.Exists(gate));
        await File.WriteAllTextAsync(gate, "");
        await AssertLiveUntilReadyAsync(client, toleratingHandOver: true);

        string body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { 1 }, data = new[] { "loaded" } } } });
        using HttpResponseMessage response = await client.PostAsync(
            new Uri("/v2/models/gated/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        string answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{answer}. stdout: {server.StandardOutput} stderr: {server.StandardError}");
        Assert.Contains("\"LOADED\"", answer, StringComparison.Ordinal);

        server.SendSignal(SigTerm);
        int exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exitCode == 0, $"exit code {exitCode}. stdout: {server.StandardOutput} stderr: {server.StandardError}");
    }

    /// <summary>Two different free ports (both held while the second is chosen).</summary>
    private static (int Http, int Grpc) FreePorts()
    {
        using var http = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        using var grpc = new System.Net.Sockets.TcpListener(IPAddress.Any, 0);
        http.Start();
        grpc.Start();
        return (((IPEndPoint)http.LocalEndpoint).Port, ((IPEndPoint)grpc.LocalEndpoint).Port);
    }

    /// <summary>The status of the first answer from <paramref name="path"/>: retries while nothing listens yet (at most 30 s).</summary>
    private static async Task<HttpStatusCode> FirstAnswerAsync(HttpClient client, string path, SharpserveProcess server)
    {
        for (int i = 0; i < 600; i++)
        {
            Assert.False(server.HasExited, $"the server exited. stdout: {server.StandardOutput} stderr: {server.StandardError}");
            try
            {
                using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
                return response.StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(50); // nothing listens yet: the process is starting
            }
        }

        Assert.Fail($"nothing answered {path} within 30 s");
        return 0;
    }

    /// <summary>
    /// Polls liveness and readiness as the kubelet does, until ready (at most 30 s): liveness answers 200 every
    /// time, while readiness may still answer 503.
    /// </summary>
    /// <param name="client">A client of the server's HTTP address.</param>
    /// <param name="toleratingHandOver">
    /// Whether a refused connection counts as "not yet": between the loading answers and the server's own listener
    /// the address is closed for a moment, which one failed probe of a failure threshold above 1 absorbs.
    /// </param>
    private static async Task AssertLiveUntilReadyAsync(HttpClient client, bool toleratingHandOver = false)
    {
        for (int i = 0; i < 600; i++)
        {
            HttpResponseMessage live;
            try
            {
                live = await client.GetAsync(new Uri("/v2/health/live", UriKind.Relative));
            }
            catch (HttpRequestException) when (toleratingHandOver)
            {
                await Task.Delay(50);
                continue;
            }

            using (live)
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            using HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
            if (ready.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            await Task.Delay(50);
        }

        Assert.Fail("not ready within 30 s");
    }

    private static string[] Texts() => File.ReadAllLines(RepositoryFiles.DataPath("fasttext", "demo", "input.txt"))[..3];

    /// <summary>Debian's `fasttext predict-prob langid.bin input.txt 1` for <see cref="Texts"/> (tools/make-demo-golden.sh).</summary>
    private static string[] Golden() => File.ReadAllLines(RepositoryFiles.DataPath("fasttext", "demo", "langid.k1.txt"))[..3];

    /// <summary>A probability as the fastText CLI prints it (C's %.6g).</summary>
    private static string Format(double probability) =>
        ((double)(float)probability).ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e');

    private static async Task AssertHttpInferAsync(HttpClient client)
    {
        string body = JsonSerializer.Serialize(new { inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { 3 }, data = Texts() } } });
        using HttpResponseMessage response = await client.PostAsync(
            new Uri($"/v2/models/{ModelName}/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using JsonDocument answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(ModelName, answer.RootElement.GetProperty("model_name").GetString());
        Assert.Equal("1", answer.RootElement.GetProperty("model_version").GetString());
        JsonElement outputs = answer.RootElement.GetProperty("outputs");
        JsonElement labels = Assert.Single(outputs.EnumerateArray(), o => o.GetProperty("name").GetString() == "label").GetProperty("data");
        JsonElement probabilities = Assert.Single(outputs.EnumerateArray(), o => o.GetProperty("name").GetString() == "probability").GetProperty("data");
        string[] lines = [.. Enumerable.Range(0, 3).Select(i => $"{labels[i].GetString()} {Format(probabilities[i].GetDouble())}")];
        Assert.Equal(Golden(), lines);
    }

    private static async Task AssertGrpcInferAsync(Uri address)
    {
        using GrpcChannel channel = GrpcChannel.ForAddress(address);
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = ModelName })).Ready);
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES", Contents = new InferTensorContents() };
        input.Shape.Add(3);
        foreach (string text in Texts())
        {
            input.Contents.BytesContents.Add(ByteString.CopyFromUtf8(text));
        }

        var request = new ModelInferRequest { ModelName = ModelName };
        request.Inputs.Add(input);
        ModelInferResponse response = await client.ModelInferAsync(request);

        int label = response.Outputs.IndexOf(response.Outputs.Single(o => o.Name == "label"));
        int probability = response.Outputs.IndexOf(response.Outputs.Single(o => o.Name == "probability"));
        Assert.Equal("FP32", response.Outputs[probability].Datatype);
        string[] labels = ReadBytes(response.RawOutputContents[label].Span);
        byte[] probabilities = response.RawOutputContents[probability].ToByteArray();
        string[] lines = [.. Enumerable.Range(0, 3).Select(i => $"{labels[i]} {Format(BinaryPrimitives.ReadSingleLittleEndian(probabilities.AsSpan(4 * i)))}")];
        Assert.Equal(Golden(), lines);
    }

    /// <summary>A raw BYTES tensor: each element a little-endian uint32 length and that many bytes.</summary>
    private static string[] ReadBytes(ReadOnlySpan<byte> raw)
    {
        var values = new List<string>();
        while (raw.Length > 0)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(raw);
            values.Add(Encoding.UTF8.GetString(raw.Slice(4, length)));
            raw = raw[(4 + length)..];
        }

        return [.. values];
    }
}
