using System.Net;
using System.Text;
using Microsoft.Extensions.Logging;
using Sharpserve.Hosting;
using Sharpserve.Supervision;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>A real front (Kestrel on 127.0.0.1:0) with real worker processes, test faults enabled, in a temp dir.</summary>
internal sealed class ProcessModeServer : IAsyncDisposable
{
    public static readonly (string Text, string Label)[] Texts =
    [
        ("Bonjour, je voudrais un café", "__label__fr"),
        ("Guten Morgen, wie geht es dir?", "__label__de"),
        ("Buongiorno, vorrei un caffè", "__label__it"),
    ];

    private readonly string _directory;

    private ProcessModeServer(TestServer server, string directory, LogCapture log)
    {
        Test = server;
        _directory = directory;
        Log = log;
    }

    public TestServer Test { get; }

    /// <summary>The server's log lines, from its start.</summary>
    public LogCapture Log { get; }

    public HttpClient Client => Test.Client;

    public SharpserveServer Server => Test.Server;

    public IWorkerStatus Pool => (IWorkerStatus)Server.Registry.Default.Executor;

    public string FaultOnceFile => Path.Combine(_directory, "fault-once");

    /// <summary>The user's model file the server was started from (a copy of the demo model).</summary>
    public string ModelPath => Path.Combine(_directory, "langid.bin");

    /// <param name="whileStarting">Runs once the server is started, before it is ready (observing the start-up).</param>
    /// <param name="workersStartTogether">As 'serve' sets it for a model image; false: one worker first, as for ONNX.</param>
    public static async Task<ProcessModeServer> StartAsync(
        Func<WorkerPoolOptions, WorkerPoolOptions>? configure = null,
        Func<ServerOptions, ServerOptions>? configureServer = null,
        Func<SharpserveServer, Task>? whileStarting = null,
        bool workersStartTogether = true)
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-pm-").FullName;
        string model = Path.Combine(directory, "langid.bin");
        File.Copy(TestServer.DemoModelPath, model);
        var pool = new WorkerPoolOptions
        {
            Workers = 2,
            Launcher = FaultyWorkers(new Dictionary<string, string> { [WorkerFaults.OnceVariable] = Path.Combine(directory, "fault-once") }),
        };
        ServerOptions options = TestServer.Options() with { ProcessMode = configure is null ? pool : configure(pool) };
        options = configureServer is null ? options : configureServer(options);
        // As 'serve' does: the front prepares the image once and only describes it; workers map the image, never the user's file.
        string cache = Path.Combine(directory, "cache");
        string image = ModelLoader.PreparedPath(model, cache);
        var source = new ModelSource(ModelLoader.Describe(image, "langid"), image, () => ModelLoader.PreparedPath(model, cache))
        {
            WorkersStartTogether = workersStartTogether,
        };
        var log = new LogCapture();
        SharpserveServer server = await SharpserveServer.StartAsync(options, [source], logging => logging.AddProvider(log));
        if (whileStarting is not null)
        {
            await whileStarting(server);
        }

        await server.WhenReady;
        var started = new ProcessModeServer(await TestServer.WrapAsync(server), directory, log);
        // Ready means one worker is Ready; the tests start from the full set.
        int workers = options.ProcessMode!.Workers;
        await started.WaitUntilAsync(w => CountReady(w) == workers, $"all {workers} workers ready");
        return started;
    }

    /// <summary>
    /// Workers of the fault host (tests/Sharpserve.FaultHost): the real worker serving the real model, which injects
    /// the faults of <see cref="WorkerFaults"/> asked for in <paramref name="environment"/>.
    /// </summary>
    public static WorkerLauncher FaultyWorkers(IReadOnlyDictionary<string, string> environment) =>
        new(["dotnet", WorkerFaults.HostPath], environment);

    public Task<HttpResponseMessage> ClassifyAsync(string text) =>
        Client.PostAsync(new Uri("/labelservice/", UriKind.Relative), new StringContent(text, Encoding.UTF8));

    /// <summary>
    /// Bounded load: <paramref name="clients"/> concurrent clients each send <paramref name="requestsPerClient"/>
    /// requests and check every answer. <paramref name="during"/> runs once <paramref name="after"/> answers are in.
    /// Returns the failures (status and body), which tests expect to be none.
    /// </summary>
    public async Task<List<string>> LoadAsync(int clients, int requestsPerClient, int after, Func<Task> during)
    {
        var failures = new List<string>();
        int answered = 0;
        var triggered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        async Task ClientAsync(int client)
        {
            for (int i = 0; i < requestsPerClient; i++)
            {
                (string text, string label) = Texts[(client + i) % Texts.Length];
                using HttpResponseMessage response = await ClassifyAsync(text);
                string body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || body != label)
                {
                    lock (failures)
                    {
                        failures.Add($"{(int)response.StatusCode} {body}");
                    }
                }

                if (Interlocked.Increment(ref answered) == after)
                {
                    triggered.TrySetResult();
                }
            }
        }

        var tasks = new List<Task>();
        for (int c = 0; c < clients; c++)
        {
            tasks.Add(ClientAsync(c));
        }

        await triggered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await during();
        await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(120));
        return failures;
    }

    /// <summary>Polls the pool (the server reaches the state by itself); fails after 30 s.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<WorkerStatus>, bool> condition, string what)
    {
        for (int i = 0; i < 600; i++)
        {
            if (condition(Pool.GetStatus()))
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"not reached within 30 s: {what}; workers: {string.Join("; ", Pool.GetStatus())}");
    }

    public static int CountReady(IReadOnlyList<WorkerStatus> workers)
    {
        int ready = 0;
        foreach (WorkerStatus worker in workers)
        {
            ready += worker.State == WorkerState.Ready ? 1 : 0;
        }

        return ready;
    }

    public static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid}") && !IsZombie(pid);

    private static bool IsZombie(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (IOException)
        {
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Test.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
