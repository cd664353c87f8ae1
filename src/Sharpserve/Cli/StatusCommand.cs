using System.CommandLine;
using System.Text.Json;
using Sharpserve.Hosting;
using Sharpserve.Http.Status;

namespace Sharpserve.Cli;

/// <summary><c>sharpserve status [--url URL]</c>: a table of the server's models and worker processes, from GET /status.</summary>
internal static class StatusCommand
{
    public const string Epilog = """
        Shows each model's mode, readiness and queue, and per worker process: pid, state, requests served,
        anonymous memory (heap), resident mapped model bytes, private dirty memory and its growth since the
        worker was ready (what --max-worker-memory counts). --json prints GET /status as it is. An answer that
        is not a status document is an error (exit 1).
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
            Uri address = url.Scheme == "unix" ? new Uri("/status", UriKind.Relative) : new Uri(url.ToString().TrimEnd('/') + "/status");
            body = await client.GetStringAsync(address);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Net.Sockets.SocketException or IOException)
        {
            return CommandLine.Fail($"cannot read {shown}/status: {ex.Message}", CommandLine.RuntimeFailure);
        }

        StatusDocument status;
        try
        {
            status = JsonSerializer.Deserialize(body, StatusJsonContext.Default.StatusDocument)
                ?? throw new JsonException("the body is JSON null");
        }
        catch (JsonException ex)
        {
            // One line: the reader's messages are single lines, but a body's text could reach one.
            return CommandLine.Fail($"{shown}/status is not a Sharpserve status document: {ex.Message.ReplaceLineEndings(" ")}", CommandLine.RuntimeFailure);
        }

        if (printJson)
        {
            Console.Out.WriteLine(body);
        }
        else
        {
            PrintTable(status);
        }

        return 0;
    }

    private static void PrintTable(StatusDocument status)
    {
        FrontStatus front = status.Front;
        string frontPrivate = front.PrivateDirtyBytes is { } dirty ? $", private dirty {Mib(dirty)}" : "";
        Console.Out.WriteLine($"ready: {status.Ready}   front pid {front.Pid}, anonymous {Mib(front.AnonymousBytes)}{frontPrivate}");
        foreach (ModelStatus model in status.Models)
        {
            Console.Out.WriteLine($"model {model.Name} version {model.Version}: {model.Mode} mode, ready {model.Ready}, queued {model.Queued}, completed {model.Completed}");
            if (model.Batching is { } batching)
            {
                Console.Out.WriteLine(FormattableString.Invariant(
                    $"  batching: at most {batching.MaxBatchSize} requests per call, delay {batching.MaxQueueDelaySeconds * 1000:0.###} ms; {batching.Batches} calls, mean batch size {batching.MeanBatchSize:0.##}"));
            }

            foreach (ZygoteProcessStatus z in model.Zygotes ?? [])
            {
                Console.Out.WriteLine(
                    $"  zygote generation {z.Generation}, pid {z.Pid}, {z.State}, {z.Workers} workers, {z.Restarts} restarts, pss {Mib(z.PssBytes)}, private dirty {Mib(z.PrivateDirtyBytes)}");
            }

            if (model.Workers is { } workers)
            {
                Console.Out.WriteLine($"  restarts {model.Restarts}, target {model.TargetWorkers} workers");
                Console.Out.WriteLine("  id     pid  state     gen  requests  in-flight  anonymous  mapped-model  private-dirty     growth     shared");
                foreach (WorkerProcessStatus w in workers)
                {
                    Console.Out.WriteLine(
                        $"  {w.Id,-4} {w.Pid,6}  {w.State,-9} {w.Generation,3}  {w.Requests,8}  {w.InFlight,9}  {Mib(w.AnonymousBytes),9}  {Mib(w.MappedModelBytes),12}  {Mib(w.PrivateDirtyBytes),13}  {Mib(w.PrivateDirtyGrowthBytes),9}  {Mib(w.SharedBytes),9}");
                }
            }
        }
    }

    /// <summary>Bytes in MiB with one decimal; "-" for a field an older server does not send.</summary>
    private static string Mib(long? bytes) => bytes is { } value ? $"{value / 1048576.0:0.0} MiB" : "-";
}
