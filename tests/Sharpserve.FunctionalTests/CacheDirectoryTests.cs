namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>--cache-dir</c> with an ONNX model on the real executable: honoured in the front and in the workers, or a
/// clear failure; never a silent fall-back to ~/.cache. HOME and XDG_CACHE_HOME point into the test's folder, so
/// anything written to the default cache would show there.
/// </summary>
public sealed class CacheDirectoryTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-cachedir-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private Dictionary<string, string> Environment() => new()
    {
        ["HOME"] = Directory.CreateDirectory(Path.Combine(_directory, "home")).FullName,
        ["XDG_CACHE_HOME"] = Directory.CreateDirectory(Path.Combine(_directory, "xdg")).FullName,
        ["SHARPSERVE_CACHE_DIR"] = "",
    };

    private void AssertDefaultCachesUntouched()
    {
        Assert.False(Directory.Exists(Path.Combine(_directory, "home", ".cache", "sharpserve")), "wrote to ~/.cache/sharpserve");
        Assert.False(Directory.Exists(Path.Combine(_directory, "xdg", "sharpserve")), "wrote to $XDG_CACHE_HOME/sharpserve");
    }

    [Theory]
    [InlineData("serve")]
    [InlineData("prepare")]
    public async Task UnusableCacheDir_FailsWithOneLineNamingFlagAndDirectory(string command)
    {
        // A path under a regular file: not a directory even for root.
        string file = Path.Combine(_directory, "a-file");
        File.WriteAllText(file, "");
        string cache = Path.Combine(file, "cache");
        string model = TestServer.DataPath("onnx", "matmul.onnx");
        string arguments = command == "serve" ? $"serve \"{model}\" --port 0 --cache-dir \"{cache}\"" : $"prepare \"{model}\" --cache-dir \"{cache}\"";

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, environment: Environment());

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"sharpserve: error: --cache-dir '{cache}'", line, StringComparison.Ordinal);
        AssertDefaultCachesUntouched();
    }

    [Theory]
    [InlineData("--threads 1")]
    [InlineData("--workers 1")]
    public async Task UsableCacheDir_HoldsTheBakedModel_AndNothingGoesToTheDefaultCache(string mode)
    {
        string cache = Path.Combine(_directory, "cache");
        string model = TestServer.DataPath("onnx", "matmul.onnx");
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{model}\" --port 0 {mode} --cache-dir \"{cache}\"", environment: Environment());
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        Assert.Single(Directory.GetFiles(Path.Combine(cache, "onnx"), "model.data", SearchOption.AllDirectories));
        Assert.DoesNotContain("failed", process.StandardError + process.StandardOutput, StringComparison.OrdinalIgnoreCase);
        AssertDefaultCachesUntouched();
    }
}
