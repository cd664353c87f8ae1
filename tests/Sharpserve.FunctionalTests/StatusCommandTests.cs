using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sharpserve.Http.Status;

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
        Assert.Equal("  id     pid  state     gen  requests  in-flight  anonymous  mapped-model  private-dirty     growth     shared", lines[3]);
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
            // anonymous, mapped-model, private-dirty, growth, shared: five "N.N MiB" columns.
            Assert.Equal(6 + 10, columns.Length);
            for (int c = 6; c < columns.Length; c += 2)
            {
                Assert.Matches(@"^\d+\.\d$", columns[c]);
                Assert.Equal("MiB", columns[c + 1]);
            }
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

    [Fact]
    public async Task Status_Json_ThreadMode_IsAStatusDocument()
    {
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{TestServer.DemoModelPath}\" --port 0 --threads 1", _temp);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {served.Client.BaseAddress} --json");

        Assert.True(exitCode == 0, stderr);
        StatusDocument status = JsonSerializer.Deserialize(stdout, StatusJsonContext.Default.StatusDocument)!;
        Assert.Equal(served.Process.Id, status.Front.Pid);
        ModelStatus model = Assert.Single(status.Models);
        Assert.Equal(("langid", "thread", 1), (model.Name, model.Mode, model.Threads));
        Assert.Null(model.Workers);
    }

    /// <summary>
    /// Something else answering at the URL (another service, a proxy's page) is one error line naming the URL and
    /// what is wrong, exit 1, with or without --json.
    /// </summary>
    [Theory]
    [InlineData("{\"ready\": true}", false, "missing required properties")]
    [InlineData("{\"status\": \"ok\"}", true, "missing required properties")]
    [InlineData("[1, 2]", false, "could not be converted")]
    [InlineData("<html><body>It works!</body></html>", true, "is an invalid start of a value")]
    [InlineData("null", false, "JSON null")]
    [InlineData("{\"ready\": true, \"front\": {\"pid\": 1, \"anonymous_bytes\": 0, \"mapped_model_bytes\": 0, \"pss_bytes\": 0}, \"models\": [{\"name\": null}]}", false, "name")]
    public async Task Status_NotAStatusDocument_IsOneErrorLine_ExitOne(string body, bool json, string reason)
    {
        await using WebApplication other = await StartOtherServerAsync(body);
        string url = other.Urls.Single();

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url {url}{(json ? " --json" : "")}");

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"sharpserve: error: {url}/status is not a Sharpserve status document: ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
    }

    /// <summary>A plain HTTP server on 127.0.0.1:0 that answers GET /status with <paramref name="body"/>, 200, as JSON.</summary>
    private static async Task<WebApplication> StartOtherServerAsync(string body)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.MapGet("/status", () => Results.Text(body, "application/json"));
        await app.StartAsync();
        return app;
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
