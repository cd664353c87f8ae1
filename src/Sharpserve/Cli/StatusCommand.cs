using System.Text.Json;

namespace Sharpserve.Cli;

/// <summary><c>sharpserve status [--url URL]</c>: a table of the server's models and worker processes, from GET /status.</summary>
internal static class StatusCommand
{
    private static readonly string[] s_valueOptions = ["--url"];
    private static readonly string[] s_flagOptions = ["--help", "--json"];

    public const string Help = """
        Usage: sharpserve status [--url http://127.0.0.1:8000] [--json]

        Shows each model's mode, readiness and queue, and per worker process: pid, state, requests served,
        anonymous memory (heap) and resident mapped model bytes. --json prints GET /status as it is.
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        ParsedArguments parsed = ParsedArguments.Parse(args, s_valueOptions, s_flagOptions, out string? error);
        if (error is not null || parsed.Positionals.Count > 0)
        {
            return CommandLine.Fail($"{error ?? "status takes no arguments"} (see 'sharpserve status --help')");
        }

        if (parsed.HasFlag("--help"))
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        string url = (parsed.GetOption("--url") ?? "http://127.0.0.1:8000").TrimEnd('/');
        string body;
        try
        {
            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            body = await client.GetStringAsync(new Uri(url + "/status"));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            return CommandLine.Fail($"cannot read {url}/status: {ex.Message}", 1);
        }

        if (parsed.HasFlag("--json"))
        {
            Console.Out.WriteLine(body);
            return 0;
        }

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

        return 0;
    }

    private static string Mib(JsonElement element, string property) =>
        $"{element.GetProperty(property).GetInt64() / 1048576.0:0.0} MiB";
}
