using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary><c>sharpserve status [--url URL] [--json]</c> against a real server: what it prints is what GET /status says.</summary>
public sealed class StatusCommandTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-status-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task Status_ProcessMode_ListsEachWorkersPidStateAndRequests()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{TestServer.DemoModelPath}\" --port 0 --workers 2", _temp);
        JsonElement[] workers = await ReadyWorkersAsync(served.Client, 2);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {served.Client.BaseAddress}");

        Assert.True(exitCode == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith($"ready: True   front pid {served.Process.Id}, anonymous ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("model langid version 1: process mode, ready True, queued 0, completed ", lines[1], StringComparison.Ordinal);
        Assert.Equal("  restarts 0, target 2 workers", lines[2]);
        Assert.Equal("  id     pid  state     gen  requests  in-flight  anonymous  mapped-model", lines[3]);
        Assert.Equal(4 + 2, lines.Length);
        foreach (JsonElement worker in workers)
        {
            // The table's columns: id, pid, state, generation, requests, in flight, ...
            string row = Assert.Single(lines, l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var id, var pid, ..] &&
                id == worker.GetProperty("id").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture) &&
                pid == worker.GetProperty("pid").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture));
            string[] columns = row.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("ready", columns[2]);
            Assert.Equal("0", columns[3]);
            Assert.True(long.Parse(columns[4], System.Globalization.CultureInfo.InvariantCulture) >= worker.GetProperty("requests").GetInt64());
            Assert.Equal("0", columns[5]);
        }
    }

    [Fact]
    public async Task Status_Json_PrintsGetStatusAsItIs()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{TestServer.DemoModelPath}\" --port 0 --workers 2", _temp);
        JsonElement[] workers = await ReadyWorkersAsync(served.Client, 2);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {served.Client.BaseAddress} --json");

        Assert.True(exitCode == 0, stderr);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("ready").GetBoolean());
        Assert.Equal(served.Process.Id, json.RootElement.GetProperty("front").GetProperty("pid").GetInt32());
        JsonElement model = json.RootElement.GetProperty("models")[0];
        Assert.Equal("process", model.GetProperty("mode").GetString());
        Assert.Equal(
            workers.Select(w => w.GetProperty("pid").GetInt32()).Order(),
            model.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32()).Order());
    }

    [Fact]
    public async Task Status_ThreadMode_SaysSo_WithoutAWorkerTable()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{TestServer.DemoModelPath}\" --port 0 --threads 1", _temp);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {served.Client.BaseAddress!.ToString().TrimEnd('/')}");

        Assert.True(exitCode == 0, stderr);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"ready: True   front pid {served.Process.Id}", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("model langid version 1: thread mode, ready True, queued 0, completed ", lines[1], StringComparison.Ordinal);
    }

    /// <summary>GET /status's workers once <paramref name="count"/> are Ready (the server is ready with one); bounded.</summary>
    private static async Task<JsonElement[]> ReadyWorkersAsync(HttpClient client, int count)
    {
        for (int i = 0; i < 600; i++)
        {
            using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
            JsonElement[] workers = [.. status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray()];
            if (workers.Length == count && workers.All(w => w.GetProperty("state").GetString() == "ready"))
            {
                return [.. workers.Select(w => w.Clone())];
            }

            await Task.Delay(50);
        }

        Assert.Fail($"{count} workers were not ready within 30 s");
        return [];
    }
}
