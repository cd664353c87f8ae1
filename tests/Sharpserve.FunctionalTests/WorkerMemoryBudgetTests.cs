using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Supervision;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>--max-worker-memory</c> counts how much a worker's private memory (Private_Dirty) grew since it was Ready, not
/// its size: what a fresh worker already holds, its replacement would hold too. A budget below a fresh worker's size
/// is therefore no longer refused at start (it was, when the budget was a size); only budgets under the 8m floor are.
/// </summary>
public sealed class WorkerMemoryBudgetTests : IDisposable
{
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-memory-budget-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task BudgetBelowAFreshWorkersSize_Serves_SinceOnlyGrowthCounts()
    {
        // An ONNX worker holds ONNX Runtime's own structures: well over 8 MiB of anonymous memory when Ready.
        string model = TestServer.DataPath("onnx", "matmul.onnx");
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{model}\" --port 0 --workers 1 --max-worker-memory 8m", _cacheDir);

        using (JsonDocument status = await HttpAssert.JsonAsync(await served.Client.GetAsync(new Uri("/status", UriKind.Relative))))
        {
            JsonElement worker = status.RootElement.GetProperty("models")[0].GetProperty("workers")[0];
            Assert.True(worker.GetProperty("anonymous_bytes").GetInt64() > 8L << 20, worker.GetRawText());
        }

        string input = string.Join(",", Enumerable.Repeat("0.5", 64));
        using HttpResponseMessage response = await served.Client.PostAsync(
            new Uri("/v2/models/matmul/infer", UriKind.Relative),
            new StringContent($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,64],"data":[{{input}}]}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
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

    [Fact]
    public void Growth_IsPrivateDirtyGainedSinceReady_NeverNegative_AndZeroBeforeReady()
    {
        ProcessMemory ready = Memory(privateDirtyMiB: 20, anonymousMiB: 300);

        Assert.Equal(5L << 20, WorkerMemoryBudget.Growth(Memory(privateDirtyMiB: 25, anonymousMiB: 300), ready));
        Assert.Equal(0, WorkerMemoryBudget.Growth(Memory(privateDirtyMiB: 18, anonymousMiB: 300), ready));
        Assert.Equal(0, WorkerMemoryBudget.Growth(Memory(privateDirtyMiB: 25, anonymousMiB: 300), atReady: null));
    }

    [Fact]
    public void Exceeded_OnlyPastTheBudget_NamingGrowthAndBudget()
    {
        ProcessMemory ready = Memory(privateDirtyMiB: 20, anonymousMiB: 300);

        Assert.Null(WorkerMemoryBudget.Exceeded(64L << 20, Memory(privateDirtyMiB: 84, anonymousMiB: 900), ready));
        Assert.Null(WorkerMemoryBudget.Exceeded(0, Memory(privateDirtyMiB: 4000, anonymousMiB: 4000), ready));
        Assert.Equal(
            "grew its private memory by 65 MiB since it was ready, more than 64 MiB (--max-worker-memory)",
            WorkerMemoryBudget.Exceeded(64L << 20, Memory(privateDirtyMiB: 85, anonymousMiB: 300), ready));
    }

    private static ProcessMemory Memory(long privateDirtyMiB, long anonymousMiB) =>
        new(RssBytes: (anonymousMiB + 10) << 20, PssBytes: anonymousMiB << 20, AnonymousBytes: anonymousMiB << 20, PrivateDirtyBytes: privateDirtyMiB << 20);
}
