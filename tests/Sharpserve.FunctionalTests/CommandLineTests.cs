using System.Net;
using System.Text;

namespace Sharpserve.FunctionalTests;

/// <summary>The real executable: serve with no arguments, SIGTERM, predict, and the command-line errors.</summary>
public sealed class CommandLineTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-cli-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task Serve_WithNoModel_ServesTheDemoModel_AndExitsZeroOnSigterm()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --port 0", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        using HttpResponseMessage response = await client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new StringContent("Bonjour, je voudrais un café s'il vous plaît"));
        string label = await response.Content.ReadAsStringAsync();
        process.SendSignal(SigTerm);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("__label__fr", label);
        Assert.Equal(0, exitCode);
        Assert.Contains("Stopping", process.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_PortAndThreadsFromEnvironment_AndMetadataUsesFileName()
    {
        string model = Path.Combine(_cacheDir, "mymodel.bin");
        File.Copy(TestServer.DemoModelPath, model);
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve \"{model}\"", _cacheDir, environment: new Dictionary<string, string> { ["SHARPSERVE_PORT"] = "0", ["SHARPSERVE_THREADS"] = "1" });
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        using HttpResponseMessage metadata = await client.GetAsync(new Uri("/v2/models/mymodel", UriKind.Relative));
        using HttpResponseMessage status = await client.GetAsync(new Uri("/status", UriKind.Relative));
        using System.Text.Json.JsonDocument json = await HttpAssert.JsonAsync(status);
        process.SendSignal(SigTerm);

        Assert.NotEqual(8000, address.Port); // SHARPSERVE_PORT=0 picked a free port instead of the default
        Assert.Equal(1, json.RootElement.GetProperty("models")[0].GetProperty("threads").GetInt32());
        Assert.Contains("'mymodel', 1 executor threads", process.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    /// <summary>The command line itself is wrong: unknown command or option, a missing or malformed value. Exit code 2.</summary>
    [Theory]
    [InlineData("serve --bogus", "unknown option '--bogus'")]
    [InlineData("serve --port", "option '--port' needs a value")]
    [InlineData("serve --port 99999", "--port must be")]
    [InlineData("serve --threads 0", "--threads must be")]
    [InlineData("serve --request-timeout soon", "--request-timeout must be")]
    [InlineData("serve --graceful-timeout forever", "--graceful-timeout must be")]
    [InlineData("serve --queue-capacity 0", "--queue-capacity must be")]
    [InlineData("serve --max-body-size lots", "--max-body-size must be")]
    [InlineData("serve --log-level loud", "--log-level must be one of")]
    [InlineData("serve --name a/b", "--name must be")]
    [InlineData("serve --host example.com", "--host must be")]
    [InlineData("serve --workers 0", "--workers must be")]
    [InlineData("serve --workers 1 --worker-threads 0", "--worker-threads must be")]
    [InlineData("serve --workers 1 --timeout 0", "--timeout must be")]
    [InlineData("serve --workers 1 --timeout 1ms", "--timeout must be at least 100ms")]
    [InlineData("serve --workers 1 --max-requests -1", "--max-requests must be")]
    [InlineData("serve --workers 1 --max-requests-jitter many", "--max-requests-jitter must be")]
    [InlineData("serve --workers 1 --max-worker-memory 0", "--max-worker-memory must be")]
    [InlineData("serve --timeout 5s", "--timeout applies to process mode only")]
    [InlineData("serve a.bin b.bin", "at most one MODEL")]
    [InlineData("predict", "predict needs MODEL")]
    [InlineData("predict x.bin --k 0", "--k must be")]
    [InlineData("predict x.bin --threshold 2", "--threshold must be")]
    [InlineData("predict x.bin --bogus", "unknown option '--bogus'")]
    [InlineData("prepare", "prepare needs exactly one MODEL")]
    [InlineData("status --bogus", "unknown option '--bogus'")]
    [InlineData("status extra", "unexpected argument 'extra'")]
    [InlineData("frobnicate", "unknown command 'frobnicate'")]
    public async Task BadCommandLine_PrintsOneClearLine_AndExits2(string arguments, string message)
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _cacheDir);

        Assert.Equal(2, exitCode);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.StartsWith("sharpserve: error: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task NoArguments_PrintsTheHelpOnStderr_AndExits2()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync("");

        Assert.Equal(2, exitCode);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    /// <summary>
    /// The command line is right but something it names is unusable at run time: a model file missing or a
    /// directory, an input file missing, a cache directory that cannot be written, a server that cannot be reached.
    /// Exit code 1, for serve and predict alike. {dir} is a directory, {file} a plain file, {model} the demo model.
    /// </summary>
    [Theory]
    [InlineData("serve /no/such/model.bin --port 0", "model file '/no/such/model.bin' does not exist")]
    [InlineData("predict /no/such/model.bin", "no such file")]
    [InlineData("serve {dir} --port 0", "is a directory")]
    [InlineData("predict {dir}", "is a directory")]
    [InlineData("prepare {dir}", "is a directory")]
    [InlineData("predict {model} /no/such/input.txt", "input file '/no/such/input.txt' does not exist")]
    [InlineData("serve {model} --cache-dir {file} --port 0", "is not a usable cache directory")]
    [InlineData("status --url http://127.0.0.1:1", "cannot read http://127.0.0.1:1/status")]
    public async Task RuntimeFailure_PrintsOneClearLine_AndExits1(string arguments, string message)
    {
        string file = Path.Combine(_cacheDir, "not-a-directory");
        File.WriteAllText(file, "a file");
        string dir = Directory.CreateDirectory(Path.Combine(_cacheDir, "a-directory")).FullName;
        arguments = arguments.Replace("{dir}", $"\"{dir}\"", StringComparison.Ordinal)
            .Replace("{file}", $"\"{file}\"", StringComparison.Ordinal)
            .Replace("{model}", $"\"{TestServer.DemoModelPath}\"", StringComparison.Ordinal);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _cacheDir);

        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.StartsWith("sharpserve: error: ", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Serve_DemoModel_WithAnUnwritableCacheDirectory_Exits1()
    {
        string file = Path.Combine(_cacheDir, "not-a-directory");
        File.WriteAllText(file, "a file");

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync("serve --port 0", cacheDir: file);

        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.StartsWith("sharpserve: error: SHARPSERVE_CACHE_DIR '" + file + "' is not a usable cache directory", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task Serve_PortInUse_Exits1_NamingTheAddress()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve \"{TestServer.DemoModelPath}\" --port {port} --threads 1", cacheDir: _cacheDir);

        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.Contains($"sharpserve: error: cannot listen on http://127.0.0.1:{port}: the port is already in use", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorruptModel_FailsWithOneClearLine_AndExits1()
    {
        string model = Path.Combine(_cacheDir, "broken.bin");
        byte[] bytes = File.ReadAllBytes(TestServer.DemoModelPath);
        File.WriteAllBytes(model, bytes.AsSpan(0, 1000).ToArray());

        (int serveExit, _, string serveError) = await SharpserveProcess.RunAsync($"serve \"{model}\" --port 0", cacheDir: _cacheDir);
        (int predictExit, _, string predictError) = await SharpserveProcess.RunAsync($"predict \"{model}\"", stdin: [], cacheDir: _cacheDir);

        Assert.Equal(1, serveExit);
        Assert.Equal(1, predictExit);
        Assert.Contains("broken.bin", serveError, StringComparison.Ordinal);
        Assert.Contains("truncated", predictError, StringComparison.OrdinalIgnoreCase);
        Assert.Single(serveError.Trim().Split('\n'));
    }

    [Fact]
    public async Task Serve_WithALimitItsOwnWarmupCannotPass_SaysWhichLimit_AndExits1()
    {
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync("serve --port 0 --max-body-size 1", cacheDir: _cacheDir);

        Assert.True(exitCode == 1, $"exit {exitCode}: {stderr}");
        Assert.StartsWith("sharpserve: error: the server did not become ready: ", stderr, StringComparison.Ordinal);
        Assert.Contains("answered 413: the request body is larger than the limit of 1 bytes (--max-body-size)", stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task VersionAndHelp_Succeed()
    {
        (int versionExit, string version, _) = await SharpserveProcess.RunAsync("--version");
        (int helpExit, string help, _) = await SharpserveProcess.RunAsync("serve --help");

        Assert.Equal(0, versionExit);
        Assert.StartsWith("sharpserve ", version, StringComparison.Ordinal);
        Assert.Equal(0, helpExit);
        Assert.Contains("--threads", help, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_FromStdinAndFromFile_PrintsFastTextFormat()
    {
        byte[] input = Encoding.UTF8.GetBytes("Bonjour mes amis\nGuten Tag\n");
        string file = Path.Combine(_cacheDir, "input.txt");
        File.WriteAllBytes(file, input);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"predict \"{TestServer.DemoModelPath}\" --k 2", stdin: input);
        (int fileExit, string fileStdout, _) = await SharpserveProcess.RunAsync(
            $"predict \"{TestServer.DemoModelPath}\" \"{file}\" --k 2");

        Assert.True(exitCode == 0, stderr);
        string[] lines = stdout.Split('\n');
        Assert.Equal(3, lines.Length);
        Assert.Equal("", lines[2]);
        Assert.Matches(@"^__label__fr [0-9.e-]+ __label__\S+ [0-9.e-]+$", lines[0]);
        Assert.StartsWith("__label__de ", lines[1], StringComparison.Ordinal);
        Assert.Equal(0, fileExit);
        Assert.Equal(stdout, fileStdout);
    }

    [Fact]
    public async Task ProcessMode_SighupReloads_SigtermExitsZero_AndLeavesNoWorker()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --workers 2 --port 0", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        int[] before = await WorkerPidsAsync(client, expected: 2);

        process.SendSignal(SigHup);
        int[] after = before;
        for (int i = 0; i < 1200 && (after.Length != 2 || after.Intersect(before).Any()); i++)
        {
            await Task.Delay(50);
            after = await WorkerPidsAsync(client);
        }

        using HttpResponseMessage answer = await client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent("Guten Tag"));
        process.SendSignal(SigTerm);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, before.Length);
        Assert.Equal(2, after.Length);
        Assert.Empty(after.Intersect(before));
        Assert.Equal("__label__de", await answer.Content.ReadAsStringAsync());
        Assert.Equal(0, exitCode);
        await AssertGoneAsync(before.Concat(after));
    }

    [Fact]
    public async Task ProcessMode_WorkersExit_WhenTheFrontIsKilledWithSigkill()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --workers 2 --port 0", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        int[] workers = await WorkerPidsAsync(client, expected: 2);

        string[] socketDirectories = Directory.GetDirectories(Path.GetTempPath(), $"sharpserve-{process.Id}-*");
        process.SendSignal(9);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, workers.Length);
        await AssertGoneAsync(workers);

        // The killed front could not delete its socket folder; the next pool started on this machine does (one
        // started by a test running alongside may already have).
        string socketDirectory = Assert.Single(socketDirectories);
        Supervision.SocketDirectory.RemoveStale(Path.GetTempPath());
        Assert.False(Directory.Exists(socketDirectory));
    }

    [Fact]
    public void SocketDirectory_RemoveStale_TakesOnlyFoldersOfProcessesThatAreGone()
    {
        string root = Directory.CreateTempSubdirectory("socketdir-stale-test-").FullName;
        try
        {
            using (var exited = System.Diagnostics.Process.Start("true")!)
            {
                exited.WaitForExit();
                Directory.CreateDirectory(Path.Combine(root, $"sharpserve-{exited.Id}-abc"));
            }

            string own = Directory.CreateDirectory(Path.Combine(root, $"sharpserve-{Environment.ProcessId}-abc")).FullName;
            string live = Directory.CreateDirectory(Path.Combine(root, "sharpserve-1-abc")).FullName; // init is alive
            string other = Directory.CreateDirectory(Path.Combine(root, "sharpserve-cache")).FullName;

            Assert.Equal(1, Supervision.SocketDirectory.RemoveStale(root));
            Assert.True(Directory.Exists(own) && Directory.Exists(live) && Directory.Exists(other));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private const int SigHup = 1;

    /// <summary>
    /// The Ready workers' PIDs from /status; with <paramref name="expected"/>, polled (bounded) until there are that
    /// many, since the server is ready as soon as one worker is.
    /// </summary>
    private static async Task<int[]> WorkerPidsAsync(HttpClient client, int? expected = null)
    {
        var pids = new List<int>();
        for (int attempt = 0; attempt == 0 || (expected is { } count && pids.Count != count && attempt < 600); attempt++)
        {
            if (attempt > 0)
            {
                await Task.Delay(50);
            }

            pids.Clear();
            using HttpResponseMessage response = await client.GetAsync(new Uri("/status", UriKind.Relative));
            using System.Text.Json.JsonDocument json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            foreach (System.Text.Json.JsonElement worker in json.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray())
            {
                if (worker.GetProperty("state").GetString() == "ready")
                {
                    pids.Add(worker.GetProperty("pid").GetInt32());
                }
            }
        }

        return [.. pids];
    }

    /// <summary>Workers must exit by themselves (bounded wait); the test never kills them.</summary>
    private static async Task AssertGoneAsync(IEnumerable<int> pids)
    {
        foreach (int pid in pids)
        {
            for (int i = 0; i < 200 && ProcessModeServer.ProcessExists(pid); i++)
            {
                await Task.Delay(50);
            }

            Assert.False(ProcessModeServer.ProcessExists(pid), $"worker {pid} outlived the front");
        }
    }
}
