namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>--max-worker-memory</c> below what a fresh worker already uses would recycle every worker as soon as it is
/// Ready, forever: the real executable refuses it instead.
/// </summary>
public sealed class WorkerMemoryBudgetTests : IDisposable
{
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-memory-budget-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task BudgetBelowAFreshWorker_FailsStartUp_WithOneLineNamingFlagBudgetAndSize()
    {
        // An ONNX worker holds ONNX Runtime's own structures: well over 8 MiB of anonymous memory when Ready.
        string model = TestServer.DataPath("onnx", "matmul.onnx");

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve \"{model}\" --port 0 --workers 1 --max-worker-memory 8m", cacheDir: _cacheDir);

        Assert.Equal(1, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("sharpserve: error: --max-worker-memory 8 MiB", line, StringComparison.Ordinal);
        Assert.Matches(@"uses \d+ MiB of anonymous memory", line);
    }

    [Fact]
    public async Task TinyBudget_IsACommandLineError()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            "serve --port 0 --workers 1 --max-worker-memory 1m", cacheDir: _cacheDir);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.StartsWith("sharpserve: error: --max-worker-memory must be at least 8m", stderr, StringComparison.Ordinal);
    }
}
