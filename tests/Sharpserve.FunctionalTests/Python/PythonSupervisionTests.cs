using System.Text.Json;

namespace Sharpserve.FunctionalTests.Python;

/// <summary>
/// Supervision of a Python model's zygote and forked workers under bounded load on 127.0.0.1 (docs/python-backend.md
/// section 4): kill -9 of a worker and of the zygote, refork on --max-requests and on --max-worker-memory, SIGHUP onto
/// new code, a hanging predict, and kill -9 of the front. Every request must succeed throughout.
/// </summary>
public sealed class PythonSupervisionTests : IDisposable
{
    private const int SigKill = 9;
    private const int SigHup = 1;
    private const int SigTtin = 21;
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-python-sup-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static readonly (string Text, string Answer)[] s_echo = [("alpha", "v1:alpha"), ("beta", "v1:beta"), ("gamma", "v1:gamma")];

    private string EchoModel(string version = "v1", string extra = "") => PythonServer.WriteModel(Path.Combine(_directory, "m"), $$"""
        import os
        _kept = []

        class Model:
            def predict(self, data):
        {{extra}}
                return "{{version}}:" + data.decode()
        """);

    [Fact]
    public async Task KillingAWorkerAndTheZygote_UnderLoad_FailsNoRequest_AndTheZygoteComesBack()
    {
        await using PythonServer server = await PythonServer.StartAsync("model:Model", EchoModel(), "--workers 2");
        (int[] zygotes, int[] workers) = await server.PidsAsync();
        List<string> failures = await server.LoadAsync(s_echo, clients: 4, requests: 100, after: 20, during: async () =>
        {
            Assert.Equal(0, Kill(workers[0], SigKill));
            Assert.Equal(0, Kill(zygotes[0], SigKill));
            await Task.CompletedTask;
        });

        Assert.Empty(failures);
        JsonElement model = await server.WaitForStatusAsync(
            m => m.GetProperty("zygotes")[0].GetProperty("state").GetString() == "serving" &&
                 m.GetProperty("zygotes")[0].GetProperty("pid").GetInt32() != zygotes[0] &&
                 PythonServer.CountState(m, "ready") == 2,
            "a new zygote serving and two ready workers");
        Assert.Equal(1, model.GetProperty("zygotes")[0].GetProperty("restarts").GetInt32());
        Assert.False(PythonServer.Exists(zygotes[0]));

        // The new zygote forks: one more worker on SIGTTIN.
        server.Process.SendSignal(SigTtin);
        await server.WaitForStatusAsync(m => PythonServer.CountState(m, "ready") == 3, "a third worker forked by the new zygote");
        List<string> after = await server.LoadAsync(s_echo, clients: 2, requests: 10, after: 1, during: () => Task.CompletedTask);
        Assert.Empty(after);
    }

    [Fact]
    public async Task MaxRequests_ReforksWarmReplacements_UnderLoad_WithoutAFailedRequest()
    {
        await using PythonServer server = await PythonServer.StartAsync("model:Model", EchoModel(), "--workers 2 --max-requests 40");
        (_, int[] first) = await server.PidsAsync();
        List<string> failures = await server.LoadAsync(s_echo, clients: 4, requests: 60, after: 1, during: () => Task.CompletedTask);

        Assert.Empty(failures);
        await server.WaitForLogAsync("draining: replaced");
        (_, int[] now) = await server.PidsAsync();
        Assert.NotEqual(first.Order(), now.Order());
    }

    [Fact]
    public async Task MemoryBudget_ReforksAWorkerThatGrows_UnderLoad_WithoutAFailedRequest()
    {
        // Each request keeps 1 MiB: past --max-worker-memory 16m the worker is reforked from the zygote.
        string directory = EchoModel(extra: "        _kept.append(bytearray(1 << 20))");
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 2 --max-worker-memory 16m");
        List<string> failures = await server.LoadAsync(s_echo, clients: 2, requests: 60, after: 1, during: () => Task.CompletedTask);

        Assert.Empty(failures);
        string line = await server.WaitForLogAsync("--max-worker-memory");
        Assert.Contains("Recycling worker", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sighup_LoadsTheNewCodeInANewZygote_UnderLoad_AndTheOldOneExits()
    {
        string directory = EchoModel("v1");
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 2");
        (int[] oldZygote, _) = await server.PidsAsync();
        List<string> failures = await server.LoadAsync(
            s_echo, clients: 2, requests: 150, after: 5, during: () =>
            {
                EchoModel("v2");
                server.Process.SendSignal(SigHup);
                return Task.CompletedTask;
            },
            alternative: answer => answer.Replace("v1:", "v2:", StringComparison.Ordinal));
        Assert.Empty(failures); // old workers answer v1 until the new ones are ready, then v2

        JsonElement model = await server.WaitForStatusAsync(
            m => m.GetProperty("zygotes").GetArrayLength() == 1 &&
                 m.GetProperty("zygotes")[0].GetProperty("generation").GetInt32() == 1 &&
                 PythonServer.CountState(m, "ready") == 2 && m.GetProperty("workers").GetArrayLength() == 2,
            "generation 1 serving alone");
        Assert.False(PythonServer.Exists(oldZygote[0]));
        using HttpResponseMessage response = await server.PostLabelAsync("x");
        Assert.Equal("v2:x", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task AHangingPredict_IsKilledPastTimeout_AndItsWorkerReplaced()
    {
        string directory = EchoModel(extra: "        if data == b'hang':\n            import time\n            time.sleep(3600)");
        await using PythonServer server = await PythonServer.StartAsync("model:Model", directory, "--workers 2 --timeout 1s");
        (_, int[] before) = await server.PidsAsync();
        using HttpResponseMessage hung = await server.PostLabelAsync("hang");
        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, hung.StatusCode); // it hung on the retry too
        await server.WaitForStatusAsync(m => PythonServer.CountState(m, "ready") == 2, "two ready workers again");
        (_, int[] after) = await server.PidsAsync();
        Assert.Empty(before.Intersect(after));
        using HttpResponseMessage fine = await server.PostLabelAsync("fine");
        Assert.Equal("v1:fine", await fine.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task KillingTheFront_LeavesNoProcessBehind()
    {
        await using PythonServer server = await PythonServer.StartAsync("model:Model", EchoModel(), "--workers 2");
        (int[] zygotes, int[] workers) = await server.PidsAsync();
        server.Process.SendSignal(SigKill);
        await server.Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        int[] all = [.. zygotes, .. workers];
        for (int i = 0; i < 600 && all.Any(PythonServer.Exists); i++)
        {
            await Task.Delay(50);
        }

        Assert.DoesNotContain(all, PythonServer.Exists);
    }

    [Fact]
    public async Task KillingTheFront_WhileTheModelLoads_StopsTheZygote()
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "slow"), """
            import time

            class Model:
                def load(self):
                    time.sleep(3600)

                def predict(self, data):
                    return "never"
            """);
        using SharpserveProcess process = SharpserveProcess.Start(
            $"serve --python model:Model --python-path \"{directory}\" --python-exe {PythonServer.Interpreter} --port 0 --workers 1");
        string started = await process.WaitForOutputAsync("Python zygote (pid ");
        int zygote = int.Parse(started.Split("(pid ")[1].Split(')')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(PythonServer.Exists(zygote));
        process.SendSignal(SigKill);
        await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
        for (int i = 0; i < 600 && PythonServer.Exists(zygote); i++)
        {
            await Task.Delay(50);
        }

        Assert.False(PythonServer.Exists(zygote), "the zygote outlived the front while loading");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
