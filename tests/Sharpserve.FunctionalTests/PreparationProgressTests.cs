using System.Text.RegularExpressions;
using Sharpserve.Cli;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// What <c>prepare</c> and <c>serve</c> say while they build a model image or bake an ONNX model, on the real
/// executable (stderr is not a terminal here, so plain lines): stdout stays the path alone, stderr (for serve the log)
/// ends with what was built or reused, and progress lines appear at the interval tests set.
/// </summary>
public sealed class PreparationProgressTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-progress-").FullName;

    public PreparationProgressTests()
    {
        ModelPath = Path.Combine(_directory, "model.bin");
        File.Copy(TestServer.DataPath("fasttext", "models", "softmax-ng2.bin"), ModelPath);

        // Not "just modified", so the image is trusted by the next prepare instead of rebuilt as racy.
        File.SetLastWriteTimeUtc(ModelPath, DateTime.UtcNow.AddHours(-1));
    }

    private string ModelPath { get; }

    private string CacheDir => Path.Combine(_directory, "cache");

    private static Dictionary<string, string> EveryReport => new() { [PreparationProgress.IntervalVariable] = "0" };

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Prepare_PrintsOnlyThePathOnStdout_AndWhatItBuiltOnStderr_ThenThatItReusedIt()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"");
        (int againExit, string again, string againError) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"");

        Assert.True(exitCode == 0, stderr);
        string image = Assert.Single(Directory.GetFiles(CacheDir));
        Assert.Equal(image + "\n", stdout);
        Assert.Matches($@"^built model image {Regex.Escape(image)} \(\d+(\.\d)? KiB\) in \d+\.\d s: no image yet\n$", stderr);
        Assert.Equal(0, againExit);
        Assert.Equal(image + "\n", again);
        Assert.Equal($"reused model image {image} (up to date)\n", againError);
    }

    [Fact]
    public async Task Prepare_AtTheTestInterval_PrintsPlainProgressLines_BeforeTheFinalLine()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"", environment: EveryReport);

        Assert.True(exitCode == 0, stderr);
        string image = stdout.TrimEnd('\n');
        string[] lines = stderr.TrimEnd('\n').Split('\n');
        Assert.StartsWith($"built model image {image} (", lines[^1], StringComparison.Ordinal);
        Assert.All(lines[..^1], line => Assert.StartsWith("preparing model.bin: ", line, StringComparison.Ordinal));
        Assert.Contains(lines, line => Regex.IsMatch(line, @"^preparing model\.bin: hashing the source, [\d.]+ KiB of [\d.]+ KiB \("));
        Assert.Contains(lines, line => Regex.IsMatch(line, @"^preparing model\.bin: writing the model image, [\d.]+ KiB of [\d.]+ KiB \("));
        Assert.DoesNotContain(stderr, c => char.IsControl(c) && c != '\n'); // no carriage returns, no escape sequences
    }

    [Fact]
    public async Task Prepare_OnnxModel_SaysItBaked_ThenThatItReusedTheBake()
    {
        string model = TestServer.DataPath("onnx", "matmul.onnx");

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"prepare \"{model}\" --cache-dir \"{CacheDir}\"");
        (int againExit, string again, string againError) = await SharpserveProcess.RunAsync($"prepare \"{model}\" --cache-dir \"{CacheDir}\"");

        Assert.True(exitCode == 0, stderr);
        string baked = stdout.TrimEnd('\n');
        Assert.EndsWith("model.onnx", baked, StringComparison.Ordinal);
        Assert.Matches($@"^baked ONNX model {Regex.Escape(baked)} \(\d+(\.\d)? KiB\) in \d+\.\d s: not baked yet\n$", stderr);
        Assert.Equal((0, stdout), (againExit, again));
        Assert.Equal($"reused baked ONNX model {baked} (up to date)\n", againError);
    }

    [Fact]
    public async Task Serve_LogsProgressAndWhatItBuilt_BeforeItListens()
    {
        await using ServedProcess server = await ServedProcess.StartAsync(
            $"\"{ModelPath}\" --port 0 --threads 1", CacheDir, EveryReport);

        string[] log = server.Process.StandardOutput.Split('\n');
        string image = Assert.Single(Directory.GetFiles(CacheDir));
        int built = Array.FindIndex(log, line => line.Contains($"Sharpserve[3020] built model image {image} (", StringComparison.Ordinal));
        int writing = Array.FindIndex(log, line => line.Contains("Sharpserve[3020] preparing model.bin: writing the model image, ", StringComparison.Ordinal));
        int listening = Array.FindIndex(log, line => line.Contains("Listening on ", StringComparison.Ordinal));
        Assert.True(writing >= 0 && writing < built && built < listening, server.Process.StandardOutput);
        Assert.DoesNotContain("model image", server.Process.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_FreshImage_LogsThatItReusedIt_WithoutProgress()
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"");
        Assert.True(exitCode == 0, stderr);

        await using ServedProcess server = await ServedProcess.StartAsync($"\"{ModelPath}\" --port 0 --threads 1", CacheDir, EveryReport);

        string log = server.Process.StandardOutput;
        Assert.Contains($"Sharpserve[3020] reused model image {stdout.TrimEnd('\n')} (up to date)", log, StringComparison.Ordinal);
        Assert.DoesNotContain("preparing model.bin", log, StringComparison.Ordinal);
    }
}
