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
    public async Task Serve_ModelFromEnvironmentPortZero_AndMetadataUsesFileName()
    {
        string model = Path.Combine(_cacheDir, "mymodel.bin");
        File.Copy(TestServer.DemoModelPath, model);
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{model}\" --port 0 --threads 1", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        using HttpResponseMessage metadata = await client.GetAsync(new Uri("/v2/models/mymodel", UriKind.Relative));
        process.SendSignal(SigTerm);

        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("serve --bogus", "unknown option '--bogus'")]
    [InlineData("serve --port 99999", "--port must be")]
    [InlineData("serve --threads 0", "--threads must be")]
    [InlineData("serve --request-timeout soon", "--request-timeout must be")]
    [InlineData("serve --host example.com", "--host must be")]
    [InlineData("serve /no/such/model.bin", "does not exist")]
    [InlineData("serve a.bin b.bin", "at most one MODEL")]
    [InlineData("predict", "predict needs MODEL")]
    [InlineData("predict /no/such/model.bin", "no such file")]
    [InlineData("predict x.bin --k 0", "--k must be")]
    [InlineData("frobnicate", "unknown command 'frobnicate'")]
    public async Task BadCommandLine_PrintsOneClearLine_AndExitsNonZero(string arguments, string message)
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _cacheDir);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.StartsWith("sharpserve: error: ", stderr, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task CorruptModel_FailsWithOneClearLine()
    {
        string model = Path.Combine(_cacheDir, "broken.bin");
        byte[] bytes = File.ReadAllBytes(TestServer.DemoModelPath);
        File.WriteAllBytes(model, bytes.AsSpan(0, 1000).ToArray());

        (int serveExit, _, string serveError) = await SharpserveProcess.RunAsync($"serve \"{model}\" --port 0", cacheDir: _cacheDir);
        (int predictExit, _, string predictError) = await SharpserveProcess.RunAsync($"predict \"{model}\"", stdin: [], cacheDir: _cacheDir);

        Assert.NotEqual(0, serveExit);
        Assert.NotEqual(0, predictExit);
        Assert.Contains("broken.bin", serveError, StringComparison.Ordinal);
        Assert.Contains("truncated", predictError, StringComparison.OrdinalIgnoreCase);
        Assert.Single(serveError.Trim().Split('\n'));
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
