using System.Net;
using System.Text;

namespace Sharpserve.FunctionalTests;

/// <summary>Quick mode with the real executable: <c>sharpserve serve model.onnx</c>.</summary>
public sealed class OnnxCommandLineTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-onnx-cli-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Theory]
    [InlineData("")]
    [InlineData("--strict-sharing")]
    public async Task Serve_OnnxModel_ServesOipInfer(string extra)
    {
        string model = TestServer.DataPath("onnx", "int64_embedding.onnx");
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{model}\" --port 0 --threads 2 {extra}", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        using HttpResponseMessage response = await client.PostAsync(
            new Uri("/v2/models/int64_embedding/infer", UriKind.Relative),
            new StringContent("""{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,5],"data":[1,2,3,4,5]}]}""", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();
        process.SendSignal(SigTerm);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"ids_plus_one\"", body, StringComparison.Ordinal);
        Assert.Contains("[2,3,4,5,6]", body, StringComparison.Ordinal);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData(2, 2, 1)] // default: one executor per core
    [InlineData(2, 1, 2)] // --threads 1 or --workers 1 on two cores: a batch uses both
    [InlineData(16, 4, 4)]
    [InlineData(2, 8, 1)] // more executors than cores: never below one
    [InlineData(3, 2, 1)]
    public void IntraOpThreads_FillTheCoresWithoutOversubscribing(int cores, int executors, int expected) =>
        Assert.Equal(expected, Sharpserve.Cli.BackendSettings.IntraOpThreadsFor(cores, executors));

    [Fact]
    public async Task Prepare_BakesTheSharedFormOnce()
    {
        string model = TestServer.DataPath("onnx", "matmul.onnx");
        string cache = Path.Combine(_cacheDir, "bakes");

        (int exit1, string out1, string err1) = await SharpserveProcess.RunAsync($"prepare \"{model}\" --cache-dir \"{cache}\"", cacheDir: _cacheDir);
        (int exit2, string out2, _) = await SharpserveProcess.RunAsync($"prepare \"{model}\" --cache-dir \"{cache}\"", cacheDir: _cacheDir);

        Assert.True(exit1 == 0, err1);
        Assert.Equal(0, exit2);
        string baked = out1.Trim();
        Assert.Equal(baked, out2.Trim());
        Assert.StartsWith(Path.Combine(cache, "onnx", "matmul-"), baked, StringComparison.Ordinal);
        Assert.EndsWith("model.onnx", baked, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(baked)!, "model.data")));
    }

    [Fact]
    public async Task Serve_ProcessMode_WorkersLoadTheBakedModel()
    {
        string model = TestServer.DataPath("onnx", "matmul.onnx");
        string cache = Path.Combine(_cacheDir, "bakes");
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{model}\" --port 0 --workers 2 --cache-dir \"{cache}\"", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        string input = string.Join(",", Enumerable.Repeat("0.5", 64));
        using HttpResponseMessage response = await client.PostAsync(
            new Uri("/v2/models/matmul/infer", UriKind.Relative),
            new StringContent($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,64],"data":[{{input}}]}]}""", Encoding.UTF8, "application/json"));
        process.SendSignal(SigTerm);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(Directory.GetDirectories(Path.Combine(cache, "onnx"), "matmul-*"));
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("truncated.onnx", "corrupt protobuf")]
    [InlineData("external/outside.onnx", "contains '..'")]
    public async Task Serve_RefusedOnnxModel_FailsWithOneClearLine(string file, string message)
    {
        string model = TestServer.DataPath("onnx", file);

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync($"serve \"{model}\" --port 0", cacheDir: _cacheDir);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
