using System.Net;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Every serve option can come from SHARPSERVE_&lt;NAME&gt;: a flag wins over the environment, which wins over the
/// default; an empty variable counts as unset. Checked on the real executable by each setting's effect.
/// </summary>
public sealed class CommandLineEnvironmentTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-env-").FullName;
    private readonly string _model;

    public CommandLineEnvironmentTests()
    {
        _model = Path.Combine(_temp, "mymodel.bin");
        File.Copy(TestServer.DemoModelPath, _model);
    }

    private string EnvironmentCache => Path.Combine(_temp, "env-cache");

    private string FlagCache => Path.Combine(_temp, "flag-cache");

    private static Dictionary<string, string> Settings => new()
    {
        ["SHARPSERVE_PORT"] = "0",
        ["SHARPSERVE_THREADS"] = "3",
        ["SHARPSERVE_NAME"] = "fromenv",
        ["SHARPSERVE_MAX_BODY_SIZE"] = "2k",
    };

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public async Task WithoutFlags_TheEnvironmentSetsEachOption()
    {
        // SharpserveProcess passes the cache directory as SHARPSERVE_CACHE_DIR.
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\"", EnvironmentCache, Settings);

        Assert.Equal(3, await ThreadsAsync(served.Client));
        Assert.Equal(HttpStatusCode.OK, await StatusOfAsync(served.Client, "/v2/models/fromenv"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync(served.Client, "/v2/models/mymodel"));
        Assert.Equal(HttpStatusCode.OK, await PostStatusAsync(served.Client, 2048));
        using (HttpResponseMessage tooLarge = await PostAsync(served.Client, 2049))
        {
            await HttpAssert.ErrorAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge, "limit of 2048 bytes");
        }

        Assert.Single(Directory.GetFiles(EnvironmentCache, "mymodel-*.ssimg"));
    }

    [Fact]
    public async Task Flags_WinOverTheEnvironment()
    {
        await using ServedProcess served = await ServedProcess.StartAsync(
            $"\"{_model}\" --threads 1 --name fromflag --max-body-size 4k --cache-dir \"{FlagCache}\"", EnvironmentCache, Settings);

        Assert.Equal(1, await ThreadsAsync(served.Client));
        Assert.Equal(HttpStatusCode.OK, await StatusOfAsync(served.Client, "/v2/models/fromflag"));
        Assert.Equal(HttpStatusCode.NotFound, await StatusOfAsync(served.Client, "/v2/models/fromenv"));
        Assert.Equal(HttpStatusCode.OK, await PostStatusAsync(served.Client, 4096));
        using (HttpResponseMessage tooLarge = await PostAsync(served.Client, 4097))
        {
            await HttpAssert.ErrorAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge, "limit of 4096 bytes");
        }

        Assert.Single(Directory.GetFiles(FlagCache, "mymodel-*.ssimg"));
        Assert.False(Directory.Exists(EnvironmentCache) && Directory.GetFiles(EnvironmentCache, "*.ssimg").Length > 0);
    }

    [Fact]
    public async Task EmptyVariables_CountAsUnset_SoTheDefaultsApply()
    {
        var empty = new Dictionary<string, string>
        {
            ["SHARPSERVE_THREADS"] = "",
            ["SHARPSERVE_NAME"] = "",
            ["SHARPSERVE_MAX_BODY_SIZE"] = "",
            ["SHARPSERVE_WORKERS"] = "",
        };
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\" --port 0", EnvironmentCache, empty);

        Assert.Equal(Environment.ProcessorCount, await ThreadsAsync(served.Client)); // thread mode, one per core
        Assert.Equal(HttpStatusCode.OK, await StatusOfAsync(served.Client, "/v2/models/mymodel"));
        Assert.Equal(HttpStatusCode.OK, await PostStatusAsync(served.Client, 1 << 20));
        using HttpResponseMessage tooLarge = await PostAsync(served.Client, (1 << 20) + 1);
        await HttpAssert.ErrorAsync(tooLarge, HttpStatusCode.RequestEntityTooLarge, "limit of 1048576 bytes");
    }

    [Fact]
    public async Task ProcessModeSettings_ComeFromTheEnvironment()
    {
        var settings = new Dictionary<string, string>
        {
            ["SHARPSERVE_PORT"] = "0",
            ["SHARPSERVE_WORKERS"] = "2",
            ["SHARPSERVE_WORKER_THREADS"] = "2",
        };
        await using ServedProcess served = await ServedProcess.StartAsync($"\"{_model}\"", EnvironmentCache, settings);

        // Ready means one worker is; the other follows by itself (bounded poll).
        int workers = 0;
        for (int i = 0; i < 600; i++)
        {
            using JsonDocument status = await HttpAssert.JsonAsync(await served.Client.GetAsync(new Uri("/status", UriKind.Relative)));
            JsonElement model = status.RootElement.GetProperty("models")[0];
            Assert.Equal("process", model.GetProperty("mode").GetString());
            Assert.Equal(2, model.GetProperty("target_workers").GetInt32());
            workers = model.GetProperty("workers").EnumerateArray().Count(w => w.GetProperty("state").GetString() == "ready");
            if (workers == 2)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Equal(2, workers);
        Assert.Contains("2 worker processes x 2 thread(s)", served.Process.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("2 executor thread(s)", served.Process.StandardOutput, StringComparison.Ordinal); // the workers' own line
    }

    [Fact]
    public async Task BadValueInTheEnvironment_IsAUsageError_UnlessAFlagOverridesIt()
    {
        var bad = new Dictionary<string, string> { ["SHARPSERVE_THREADS"] = "zero" };

        // The environment is wrong, so 2, before anything is acted on.
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync("serve /no/such/model.bin", cacheDir: _temp, environment: bad);
        // The flag wins, so the bad variable is never read: only the missing model remains, a runtime failure.
        (int overriddenExit, _, string overriddenError) = await SharpserveProcess.RunAsync("serve /no/such/model.bin --threads 1", cacheDir: _temp, environment: bad);

        Assert.Equal(2, exitCode);
        // The variable is named, not the flag it stands for; the missing model is not looked at until the command line is right.
        Assert.Equal("sharpserve: error: SHARPSERVE_THREADS must be an integer from 1 to 1024, got 'zero'\n", stderr);
        Assert.Equal("", stdout);
        Assert.Equal(1, overriddenExit);
        Assert.Equal("sharpserve: error: model file '/no/such/model.bin' does not exist\n", overriddenError);
    }

    [Fact]
    public async Task ModelRepositoryFromTheEnvironment_IsNamedByItsVariableInMessages()
    {
        var settings = new Dictionary<string, string> { ["SHARPSERVE_MODEL_REPOSITORY"] = "/no/such/repository" };

        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync("serve --port 0", cacheDir: _temp, environment: settings);

        Assert.NotEqual(0, exitCode);
        Assert.StartsWith("sharpserve: error: SHARPSERVE_MODEL_REPOSITORY '/no/such/repository' does not exist", stderr, StringComparison.Ordinal);
    }

    private static async Task<int> ThreadsAsync(HttpClient client)
    {
        using JsonDocument status = await HttpAssert.JsonAsync(await client.GetAsync(new Uri("/status", UriKind.Relative)));
        JsonElement model = status.RootElement.GetProperty("models")[0];
        Assert.Equal("thread", model.GetProperty("mode").GetString());
        return model.GetProperty("threads").GetInt32();
    }

    private static async Task<HttpStatusCode> StatusOfAsync(HttpClient client, string path)
    {
        using HttpResponseMessage response = await client.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient client, int bytes)
    {
        byte[] body = new byte[bytes];
        body.AsSpan().Fill((byte)'a');
        return client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent(body));
    }

    private static async Task<HttpStatusCode> PostStatusAsync(HttpClient client, int bytes)
    {
        using HttpResponseMessage response = await PostAsync(client, bytes);
        return response.StatusCode;
    }
}
