using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>SIGHUP on the real executable in process mode when the model file was replaced by another model.</summary>
public sealed class ReloadTests : IDisposable
{
    private const int SigHup = 1;
    private const int SigTerm = 15;
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-reload-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Sighup_ToAModelWithOtherInputs_IsRefusedWithAnError_AndTheOldModelKeepsServing()
    {
        string model = Path.Combine(_directory, "model.onnx");
        File.Copy(TestServer.DataPath("onnx", "matmul.onnx"), model);
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve \"{model}\" --port 0 --workers 2 --cache-dir \"{Path.Combine(_directory, "cache")}\"", Path.Combine(_directory, "cache"));
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        using (HttpResponseMessage before = await InferMatmulAsync(client))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        // Another model (input 'ids' INT64 instead of 'x' FP32) written over the served file, then SIGHUP.
        File.Copy(TestServer.DataPath("onnx", "int64_embedding.onnx"), model, overwrite: true);
        process.SendSignal(SigHup);
        string refusal = await WaitForLineAsync(process, "refused");

        using HttpResponseMessage after = await InferMatmulAsync(client);
        using HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
        using JsonDocument metadata = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/v2/models/model", UriKind.Relative)));
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        process.SendSignal(SigTerm);

        Assert.Contains("fail:", refusal, StringComparison.Ordinal); // logged at Error
        Assert.Contains("x FP32", refusal, StringComparison.Ordinal);
        Assert.Contains("ids INT64", refusal, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Contains("\"y\"", await after.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("x", metadata.RootElement.GetProperty("inputs")[0].GetProperty("name").GetString());
        foreach (JsonElement worker in status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray())
        {
            Assert.Equal(0, worker.GetProperty("generation").GetInt32()); // no worker was rolled onto the other model
        }

        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    private static Task<HttpResponseMessage> InferMatmulAsync(HttpClient client)
    {
        string input = string.Join(",", Enumerable.Repeat("0.5", 64));
        return client.PostAsync(
            new Uri("/v2/models/model/infer", UriKind.Relative),
            new StringContent($$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,64],"data":[{{input}}]}]}""", Encoding.UTF8, "application/json"));
    }

    /// <summary>The first log line containing <paramref name="text"/>; the server writes it by itself (bounded wait).</summary>
    private static async Task<string> WaitForLineAsync(SharpserveProcess process, string text)
    {
        for (int i = 0; i < 600; i++)
        {
            foreach (string line in process.StandardOutput.Split('\n'))
            {
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return line;
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"no log line with '{text}' within 30 s: {process.StandardOutput}");
        return "";
    }
}
