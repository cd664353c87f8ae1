namespace Sharpserve.FunctionalTests;

/// <summary>What predict and prepare leave on disk: nothing for a refused model, no lock file beside an image.</summary>
public sealed class PredictPrepareFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-files-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Predict_OnnxModel_IsRefusedBeforeAnythingIsWritten()
    {
        string cache = Directory.CreateDirectory(Path.Combine(_directory, "cache")).FullName;

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"predict \"{TestServer.DataPath("onnx", "matmul.onnx")}\"", stdin: [], cacheDir: cache);

        Assert.Equal(2, exitCode);
        Assert.Equal("", stdout);
        Assert.StartsWith("sharpserve: error: ", stderr, StringComparison.Ordinal);
        Assert.Contains("fastText models only", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(cache));
    }

    [Fact]
    public async Task Prepare_ToOutputOrCache_LeavesNoLockFile()
    {
        string output = Path.Combine(_directory, "out", "langid.ssimg");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);
        string cache = Path.Combine(_directory, "cache");

        (int outputExit, _, string outputError) = await SharpserveProcess.RunAsync($"prepare \"{TestServer.DemoModelPath}\" --output \"{output}\"");
        (int cacheExit, string cacheOut, string cacheError) = await SharpserveProcess.RunAsync($"prepare \"{TestServer.DemoModelPath}\" --cache-dir \"{cache}\"");

        Assert.True(outputExit == 0, outputError);
        Assert.True(cacheExit == 0, cacheError);
        Assert.Equal([output], Directory.GetFiles(Path.GetDirectoryName(output)!));
        Assert.Equal([cacheOut.Trim()], Directory.GetFiles(cache));
    }
}
