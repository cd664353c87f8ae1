namespace Sharpserve.FunctionalTests;

/// <summary>
/// The binary tensor data extension on <c>sharpserve serve --model-repository</c> (the real executable), through a
/// versioned infer route: the same answer as the JSON path.
/// </summary>
public sealed class OipBinaryRepositoryTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-repo-binary-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Serve_Repository_AnswersBinaryRequests()
    {
        string repository = Path.Combine(_temp, "models");
        string cache = Path.Combine(_temp, "cache");
        Directory.CreateDirectory(Path.Combine(repository, "multi_io", "1"));
        File.Copy(TestServer.DataPath("onnx", "multi_io.onnx"), Path.Combine(repository, "multi_io", "1", "model.onnx"));
        await File.WriteAllTextAsync(Path.Combine(repository, "multi_io", "config.json"), """{"backend": "onnxruntime"}""");

        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --model-repository \"{repository}\" --cache-dir \"{cache}\" --port 0 --threads 1", cache);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);

        await OipBinaryTests.AssertBinaryAnswersAsJsonAsync(client, "multi_io", "/v2/models/multi_io/versions/1/infer");
    }
}
