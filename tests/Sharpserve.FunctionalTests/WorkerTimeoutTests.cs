using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>--timeout</c> on the real executable: a worker busy sending a large answer is alive, not silent or stuck.
/// </summary>
public sealed class WorkerTimeoutTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-timeout-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task ShortTimeout_WorkersWritingLargeAnswers_AreNotKilled()
    {
        // expand.onnx answers a [1] FP32 input broadcast to the shape it is given: 2500 x 6000 floats is a 60 MB
        // Result frame (under the 64 MiB limit). Four clients at once on one worker pipeline four such answers
        // through its socket: the later requests wait behind the earlier answers' transfers, and its Pongs behind
        // all of them, for well over the 2 s timeout (12 answers of 60 MB, each written as JSON by the front), while
        // each predict takes a few tens of ms: a timeout that waited for a Pong would kill the worker; one that counts
        // the bytes arriving does not. 2 s rather than 1 s leaves room for a loaded machine's slower predicts.
        string model = TestServer.DataPath("onnx", "expand.onnx");
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{model}\" --port 0 --workers 1 --timeout 2s", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(120) };
        await SharpserveProcess.WaitForReadyAsync(client);

        var statuses = new List<HttpStatusCode>();
        async Task ClientAsync()
        {
            for (int i = 0; i < 3; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/v2/models/expand/infer", UriKind.Relative))
                {
                    Content = new StringContent(
                        """{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[0.25]},{"name":"shp","datatype":"INT64","shape":[2],"data":[2500,6000]}]}""",
                        Encoding.UTF8,
                        "application/json"),
                };
                using HttpResponseMessage response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
                lock (statuses)
                {
                    statuses.Add(response.StatusCode);
                }
            }
        }

        await Task.WhenAll(ClientAsync(), ClientAsync(), ClientAsync(), ClientAsync()).WaitAsync(TimeSpan.FromSeconds(240));
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        process.SendSignal(SigTerm);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(60));

        string killed = string.Join('\n', process.StandardOutput.Split('\n').Where(l => l.Contains("Killing worker", StringComparison.Ordinal)));
        Assert.True(killed.Length == 0, killed);
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(12, statuses.Count);
        Assert.Equal(0, status.RootElement.GetProperty("models")[0].GetProperty("restarts").GetInt32());
    }
}
