using System.CommandLine;
using Sharpserve.Hosting;
using System.Text.Json;

namespace Sharpserve.Cli;

/// <summary><c>sharpserve status [--url URL]</c>: a table of the server's models and worker processes, from GET /status.</summary>
internal static class StatusCommand
{
    public const string Epilog = """
        Shows each model's mode, readiness and queue, and per worker process: pid, state, requests served,
        anonymous memory (heap) and resident mapped model bytes. --json prints GET /status as it is.
        """;

    public static Command Create()
    {
        var url = new Option<Uri>("--url")
        {
            Description = "the server: http://HOST:PORT or unix:PATH (default http://127.0.0.1:8000)",
            HelpName = "URL",
            DefaultValueFactory = _ => new Uri("http://127.0.0.1:8000"),
            CustomParser = ParseUrl,
        };
        var json = new Option<bool>("--json") { Description = "print GET /status as it is" };
        var command = new Command("status", "Models and worker processes of a running server.") { url, json };
        command.SetAction((parsed, _) => RunAsync(parsed.GetValue(url)!, parsed.GetValue(json)));
        return command;
    }

    /// <summary>http://HOST:PORT (https too), or unix:PATH for a server listening on a Unix socket.</summary>
    private static Uri ParseUrl(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens[^1].Value;
        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase) && text.Length > 5)
        {
            return new Uri("unix://" + Path.GetFullPath(text[5..].TrimStart('/').Insert(0, "/")));
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && uri.Scheme is "http" or "https")
        {
            return uri;
        }

        result.AddError($"--url must be http://HOST:PORT or unix:PATH, got '{text}'");
        return new Uri("http://127.0.0.1:8000");
    }

    private static async Task<int> RunAsync(Uri url, bool printJson)
    {
        string body;
        string shown = url.Scheme == "unix" ? $"unix:{url.AbsolutePath}" : url.ToString().TrimEnd('/');
        try
        {
            ListenAddress target = url.Scheme == "unix"
                ? ListenAddress.Unix(url.AbsolutePath)
                : ListenAddress.Tcp(System.Net.IPAddress.Loopback, 0);
            using HttpClient client = url.Scheme == "unix"
                ? SelfClient.Create(target, TimeSpan.FromSeconds(10))
                : new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            Uri status = url.Scheme == "unix" ? new Uri("/status", UriKind.Relative) : new Uri(url.ToString().TrimEnd('/') + "/status");
            body = await client.GetStringAsync(status);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException or IOException)
        {
            return CommandLine.Fail($"cannot read {shown}/status: {ex.Message}", CommandLine.RuntimeFailure);
        }

        if (printJson)
        {
            Console.Out.WriteLine(body);
            return 0;
        }

        try
        {
            PrintTable(body);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return CommandLine.Fail($"{shown}/status is not a Sharpserve status: {ex.Message}", CommandLine.RuntimeFailure);
        }

        return 0;
    }

    private static void PrintTable(string body)
    {
        using JsonDocument json = JsonDocument.Parse(body);
        JsonElement root = json.RootElement;
        JsonElement front = root.GetProperty("front");
        Console.Out.WriteLine($"ready: {root.GetProperty("ready").GetBoolean()}   front pid {front.GetProperty("pid").GetInt32()}, anonymous {Mib(front, "anonymous_bytes")}");
        foreach (JsonElement model in root.GetProperty("models").EnumerateArray())
        {
            // "version" is absent from servers older than the model repository.
            string version = model.TryGetProperty("version", out JsonElement v) ? v.GetString() ?? "1" : "1";
            Console.Out.WriteLine($"model {model.GetProperty("name").GetString()} version {version}: {model.GetProperty("mode").GetString()} mode, ready {model.GetProperty("ready").GetBoolean()}, queued {model.GetProperty("queued").GetInt32()}, completed {model.GetProperty("completed").GetInt64()}");
            if (model.TryGetProperty("workers", out JsonElement workers))
            {
                Console.Out.WriteLine($"  restarts {model.GetProperty("restarts").GetInt32()}, target {model.GetProperty("target_workers").GetInt32()} workers");
                Console.Out.WriteLine("  id     pid  state     gen  requests  in-flight  anonymous  mapped-model");
                foreach (JsonElement w in workers.EnumerateArray())
                {
                    Console.Out.WriteLine(
                        $"  {w.GetProperty("id").GetInt32(),-4} {w.GetProperty("pid").GetInt32(),6}  {w.GetProperty("state").GetString(),-9} {w.GetProperty("generation").GetInt32(),3}  {w.GetProperty("requests").GetInt64(),8}  {w.GetProperty("in_flight").GetInt32(),9}  {Mib(w, "anonymous_bytes"),9}  {Mib(w, "mapped_model_bytes"),12}");
                }
            }
        }

    }

    private static string Mib(JsonElement element, string property) =>
        $"{element.GetProperty(property).GetInt64() / 1048576.0:0.0} MiB";
}
