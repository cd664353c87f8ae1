using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests.Python;

/// <summary>
/// The real executable serving a Python model (<c>serve --python</c>) with Debian's interpreter, which has numpy and
/// scikit-learn (the <c>python3</c> first on PATH may be another one without them); stopped by its PID only.
/// </summary>
internal sealed class PythonServer : IAsyncDisposable
{
    public const string Interpreter = "/usr/bin/python3";

    private PythonServer(SharpserveProcess process, HttpClient client)
    {
        Process = process;
        Client = client;
    }

    public SharpserveProcess Process { get; }

    public HttpClient Client { get; }

    /// <summary>Starts <c>serve --python ENTRY --python-path DIR ...</c> and waits until it is ready.</summary>
    public static async Task<PythonServer> StartAsync(string entry, string directory, string extra = "", string? cacheDir = null)
    {
        SharpserveProcess process = SharpserveProcess.Start(
            $"serve --python {entry} --python-path \"{directory}\" --python-exe {Interpreter} --port 0 {extra}", cacheDir);
        Uri address = await process.WaitForAddressAsync();
        var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
        await SharpserveProcess.WaitForReadyAsync(client);
        return new PythonServer(process, client);
    }

    /// <summary>Writes <paramref name="source"/> as DIR/model.py (a test's own small model) and returns DIR.</summary>
    public static string WriteModel(string directory, string source, string module = "model")
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, module + ".py"), source.ReplaceLineEndings("\n"));
        return directory;
    }

    /// <summary>The folder of a model under tests/data/python.</summary>
    public static string DataModel(string name) => TestServer.DataPath("python", name);

    /// <summary>
    /// What the class answers when called directly in a plain interpreter (load() then predict per input), as the
    /// strings the server should send: a str as it is, bytes decoded, anything else as JSON.
    /// </summary>
    public static async Task<string[]> PredictDirectlyAsync(string directory, string entry, IReadOnlyList<string> inputs)
    {
        string script = """
            import importlib, json, sys
            sys.path[0:0] = [sys.argv[1], sys.argv[3]]
            module, attr = sys.argv[2].split(":")
            obj = getattr(importlib.import_module(module), attr)
            model = obj() if callable(obj) and not hasattr(obj, "predict") or isinstance(obj, type) else obj
            if hasattr(model, "load"):
                model.load()
            out = []
            for text in json.loads(sys.stdin.read()):
                r = model.predict(text.encode("utf-8"))
                out.append(r if isinstance(r, str) else r.decode("utf-8") if isinstance(r, bytes) else json.dumps(r))
            print(json.dumps(out))
            """;
        var info = new ProcessStartInfo(Interpreter) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])["-c", script, directory, entry, Path.Combine(AppContext.BaseDirectory, "python")])
        {
            info.ArgumentList.Add(argument);
        }

        using Process python = System.Diagnostics.Process.Start(info)!;
        await python.StandardInput.WriteAsync(JsonSerializer.Serialize(inputs));
        python.StandardInput.Close();
        Task<string> output = python.StandardOutput.ReadToEndAsync();
        Task<string> error = python.StandardError.ReadToEndAsync();
        await python.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(python.ExitCode == 0, await error);
        return JsonSerializer.Deserialize<string[]>(await output)!;
    }

    public Task<HttpResponseMessage> PostLabelAsync(string text) =>
        Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(text, Encoding.UTF8));

    public async Task<JsonDocument> StatusAsync() =>
        await HttpAssert.JsonAsync(await Client.GetAsync(new Uri("/status", UriKind.Relative)));

    /// <summary>The pids of the served model's zygotes and workers, from /status.</summary>
    public async Task<(int[] Zygotes, int[] Workers)> PidsAsync()
    {
        using JsonDocument status = await StatusAsync();
        JsonElement model = status.RootElement.GetProperty("models")[0];
        int[] zygotes = model.TryGetProperty("zygotes", out JsonElement z) ? [.. z.EnumerateArray().Select(e => e.GetProperty("pid").GetInt32())] : [];
        int[] workers = [.. model.GetProperty("workers").EnumerateArray().Select(e => e.GetProperty("pid").GetInt32())];
        return (zygotes, workers);
    }

    /// <summary>Polls /status until <paramref name="condition"/> holds for the model (the server gets there by itself); fails after 60 s.</summary>
    public async Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> condition, string what)
    {
        string last = "";
        for (int i = 0; i < 1200; i++)
        {
            using JsonDocument status = await StatusAsync();
            JsonElement model = status.RootElement.GetProperty("models")[0];
            if (condition(model))
            {
                return model.Clone();
            }

            last = model.ToString();
            await Task.Delay(50);
        }

        Assert.Fail($"not reached within 60 s: {what}; last status: {last}; log: {Process.StandardOutput}");
        return default;
    }

    public static int CountState(JsonElement model, string state) =>
        model.GetProperty("workers").EnumerateArray().Count(w => w.GetProperty("state").GetString() == state);

    /// <summary>
    /// Bounded load on /labelservice/: <paramref name="clients"/> clients each send <paramref name="requests"/>
    /// requests and check every answer against <paramref name="expected"/>; <paramref name="during"/> runs once
    /// <paramref name="after"/> answers are in; <paramref name="alternative"/> gives another accepted answer (a
    /// reload's new code). Returns the failures (status and body).
    /// </summary>
    public async Task<List<string>> LoadAsync(
        IReadOnlyList<(string Text, string Answer)> expected, int clients, int requests, int after, Func<Task> during, Func<string, string>? alternative = null)
    {
        var failures = new List<string>();
        int answered = 0;
        var triggered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task ClientAsync(int client)
        {
            for (int i = 0; i < requests; i++)
            {
                (string text, string answer) = expected[(client + i) % expected.Count];
                using HttpResponseMessage response = await PostLabelAsync(text);
                string body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || (body != answer && body != alternative?.Invoke(answer)))
                {
                    lock (failures)
                    {
                        failures.Add($"{(int)response.StatusCode} {body} (expected {answer})");
                    }
                }

                if (Interlocked.Increment(ref answered) == after)
                {
                    triggered.TrySetResult();
                }
            }
        }

        Task[] tasks = [.. Enumerable.Range(0, clients).Select(ClientAsync)];
        await triggered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await during();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(180));
        return failures;
    }

    /// <summary>Polls the server's log until a line contains <paramref name="text"/>; fails after 30 s.</summary>
    public Task<string> WaitForLogAsync(string text) => Process.WaitForOutputAsync(text);

    public static bool Exists(int pid) => ProcessModeServer.ProcessExists(pid);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!Process.HasExited)
        {
            Process.SendSignal(15);
            await Process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        }

        Process.Dispose();
    }
}
