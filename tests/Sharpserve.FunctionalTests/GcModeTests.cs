namespace Sharpserve.FunctionalTests;

/// <summary>The GC mode chosen for the workers (Sharpserve.csproj; measured in docs/benchmarks.md) is the one they run.</summary>
public sealed class GcModeTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-gc-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task Workers_RunServerGc_WithoutBackgroundGc()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --port 0 --workers 1", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        // The worker's own line, relayed into the front's log.
        string ready = Assert.Single(process.StandardOutput.Split('\n'), l => l.Contains("] ready: model", StringComparison.Ordinal));
        Assert.EndsWith("Server GC, concurrent off", ready.TrimEnd(), StringComparison.Ordinal);
    }
}
