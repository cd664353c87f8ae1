using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Scheduling;
using Sharpserve.Demo;
using Sharpserve.Hosting;
using Sharpserve.Supervision;

namespace Sharpserve.Cli;

/// <summary>
/// <c>sharpserve serve [MODEL | --model-repository DIR] [options]</c>: load the model(s), warm them, serve HTTP
/// until SIGTERM.
/// </summary>
internal static class ServeCommand
{
    private static readonly string[] s_valueOptions =
    [
        "--host", "--port", "--threads", "--name", "--max-body-size", "--queue-capacity", "--request-timeout",
        "--graceful-timeout", "--log-level", "--workers", "--worker-threads", "--timeout", "--max-requests",
        "--max-requests-jitter", "--max-worker-memory", "--cache-dir", "--model-repository",
    ];

    private static readonly string[] s_flagOptions = ["--help", "--strict-sharing"];

    public const string Help = """
        Usage: sharpserve serve [MODEL | --model-repository DIR] [options]

        Serves MODEL (a fastText supervised .bin or an ONNX .onnx) over HTTP; with no MODEL, serves the
        embedded demo language-identification model. Endpoints: POST /labelservice/, the Open Inference Protocol v2 under /v2.
        Process mode signals: SIGHUP reloads the model, SIGTTIN adds a worker, SIGTTOU removes one.

        Model repository (--model-repository DIR, like Triton's), read once at start:
          DIR/<model>/config.json           optional: {"name", "backend": "onnxruntime"|"fasttext",
                                            "default_model_filename", "version_policy": {"latest": {"num_versions": N}}
                                            (default N = 1) | {"all": {}} | {"specific": {"versions": [1, 3]}}}
          DIR/<model>/<version>/model.onnx  or model.bin (fastText); <version> is a positive integer
        Every selected (model, version) is served at /v2/models/<model>/versions/<version> with its own executors
        (--threads or --workers each); /v2/models/<model> is its highest version; /labelservice/ uses the first
        model in name order. Names are letters, digits, '_', '-', '.'; entries starting with '.' are skipped.

        Options (each also readable from the environment as SHARPSERVE_<NAME>, e.g. SHARPSERVE_PORT):
          --host ADDRESS            address to bind (default 127.0.0.1; 0.0.0.0 or :: to expose it)
          --port N                  TCP port (default 8000; 0 picks a free port)
          --threads N               thread mode: executor threads (default: the number of cores)
          --workers N               process mode: N supervised worker processes sharing one mapped model image
          --worker-threads N        process mode: executor threads in each worker (default 1)
          --timeout TIME            process mode: kill and replace a worker silent or stuck this long (default 30s)
          --max-requests N          process mode: recycle a worker after N requests (default 0: never)
          --max-requests-jitter N   process mode: add 0..N at random to --max-requests per worker
          --max-worker-memory SIZE  process mode: recycle a worker whose anonymous memory exceeds SIZE, e.g. 512m
          --cache-dir DIR           where model images are kept (default $SHARPSERVE_CACHE_DIR or ~/.cache/sharpserve)
          --model-repository DIR    serve every model of DIR (layout above) instead of one MODEL
          --name NAME               model name in /v2/models/NAME (default: the file name without extension)
          --max-body-size SIZE      largest request body, e.g. 1m, 512k (default 1m)
          --queue-capacity N        requests waiting for an executor before 503 (default 1024)
          --request-timeout TIME    answer 504 past this, e.g. 30s, 500ms (default 30s)
          --graceful-timeout TIME   on SIGTERM, wait this long for in-flight requests (default 30s)
          --log-level LEVEL         trace, debug, information, warning, error (default information)
          --strict-sharing          ONNX: fail the load when a session adds more anonymous memory than
                                    SHARPSERVE_ONNX_ANON_BUDGET_MB (default: half the weights, at least 64),
                                    i.e. the weights were copied instead of shared
          -h, --help                show this help
        """;

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        ParsedArguments parsed = ParsedArguments.Parse(args, s_valueOptions, s_flagOptions, out string? error);
        if (error is not null)
        {
            return CommandLine.Fail($"{error} (see 'sharpserve serve --help')");
        }

        if (parsed.HasFlag("--help"))
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (parsed.HasFlag("--strict-sharing"))
        {
            // Read by the ONNX backend here and, inherited, in every worker process.
            Environment.SetEnvironmentVariable("SHARPSERVE_ONNX_STRICT_SHARING", "1");
        }

        if (parsed.Positionals.Count > 1)
        {
            return CommandLine.Fail($"serve takes at most one MODEL, got {parsed.Positionals.Count} (see 'sharpserve serve --help')");
        }

        var problems = new List<string>();
        int runtimeProblems = 0;
        ServerOptions options = BuildOptions(parsed, problems, out string? name, out LogLevel logLevel);
        string? modelPath = parsed.Positionals.Count == 1 ? parsed.Positionals[0] : null;
        string? repositoryPath = Value(parsed, "--model-repository");
        ModelRepository? repository = null;
        if (repositoryPath is not null)
        {
            string repositorySetting = Setting(parsed, "--model-repository");
            if (modelPath is not null)
            {
                problems.Add($"give either MODEL ('{modelPath}') or {repositorySetting} ('{repositoryPath}'), not both");
            }
            else
            {
                repository = ModelRepository.Scan(repositoryPath, repositorySetting);
                problems.AddRange(repository.Problems);
            }

            if (name is not null)
            {
                problems.Add($"{Setting(parsed, "--name")} does not apply with {repositorySetting}: the models are named by their folders");
            }
        }
        else if (modelPath is not null && !File.Exists(modelPath))
        {
            problems.Add($"model file '{modelPath}' does not exist");
            runtimeProblems++;
        }

        if (problems.Count > 0)
        {
            // Configuration errors are all reported at once, each naming the setting.
            foreach (string problem in problems)
            {
                Console.Error.WriteLine($"sharpserve: error: {problem}");
            }

            // 2 when the command line itself is wrong; 1 when it is right but names a model that is not there,
            // a runtime failure like a corrupt model (CommandLine.Fail).
            return problems.Count > runtimeProblems ? 2 : 1;
        }

        string? cacheDirectory = Value(parsed, "--cache-dir");
        bool inWorkers = options.ProcessMode is not null;
        ModelLoader.SetDefaultOnnxIntraOpThreads(options.ProcessMode is { } pool ? pool.Workers * pool.ThreadsPerWorker : options.Threads);
        if (repository is not null)
        {
            return OpenRepository(repository, cacheDirectory, inWorkers, out List<ModelSource> sources) is { } failed
                ? failed
                : await SharpserveServer.RunAsync(options, sources, logLevel);
        }

        bool isDemo = modelPath is null;
        try
        {
            modelPath ??= DemoModel.EnsureExtracted();
        }
        catch (IOException ex)
        {
            return CommandLine.Fail($"cannot write the demo model to the cache directory: {ex.Message}", 1);
        }

        name ??= isDemo ? DemoModel.Name : Path.GetFileNameWithoutExtension(modelPath);
        ModelSource model;
        try
        {
            model = OpenSource(modelPath, name, cacheDirectory, inWorkers);
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, 1);
        }
        catch (IOException ex)
        {
            return CommandLine.Fail($"cannot prepare the model image in the cache directory: {ex.Message}", 1);
        }

        return await SharpserveServer.RunAsync(options, [model], logLevel);
    }

    /// <summary>
    /// Opens every (model, version) of a scanned repository, in its order (the first is the default model). All of
    /// them are tried so that every unusable model is reported at once; then nothing is served.
    /// </summary>
    /// <returns>null when all opened; otherwise the exit code, 1, with the failures printed.</returns>
    private static int? OpenRepository(ModelRepository repository, string? cacheDirectory, bool inWorkers, out List<ModelSource> sources)
    {
        sources = new List<ModelSource>(repository.Entries.Count);
        var failures = new List<string>();
        foreach (ModelRepository.Entry entry in repository.Entries)
        {
            try
            {
                sources.Add(OpenSource(entry.ModelPath, entry.Name, cacheDirectory, inWorkers) with { Version = entry.Version });
            }
            catch (ModelLoadException ex)
            {
                failures.Add(ex.Message.Contains(entry.ModelPath, StringComparison.Ordinal) ? ex.Message : $"{entry.ModelPath}: {ex.Message}");
            }
            catch (IOException ex)
            {
                failures.Add($"{entry.ModelPath}: cannot prepare the model image in the cache directory: {ex.Message}");
            }
        }

        if (failures.Count == 0)
        {
            return null;
        }

        foreach (ModelSource source in sources)
        {
            source.Model.Dispose();
        }

        foreach (string failure in failures)
        {
            Console.Error.WriteLine($"sharpserve: error: {failure}");
        }

        return 1;
    }

    /// <summary>
    /// Prepares <paramref name="source"/> (its model image, or for ONNX its baked shared form) and opens what the
    /// front needs. What the server and every worker map is the image Sharpserve wrote (rebuilt when the source
    /// changed), never the user's file. In process mode (<paramref name="inWorkers"/>) the workers run the model and
    /// the front only describes it (docs/architecture.md).
    /// </summary>
    /// <exception cref="ModelLoadException">The model is unusable; the message names the file.</exception>
    /// <exception cref="IOException">The cache directory cannot be written.</exception>
    internal static ModelSource OpenSource(string source, string name, string? cacheDirectory, bool inWorkers)
    {
        string Prepare() => ModelLoader.PrepareImage(source, cacheDirectory);
        string served = Prepare();
        return new ModelSource(ModelLoader.LoadForServing(served, name, inWorkers), served, Prepare)
        {
            WorkersStartTogether = ModelLoader.IsModelImage(served),
        };
    }

    private static ServerOptions BuildOptions(ParsedArguments parsed, List<string> problems, out string? name, out LogLevel logLevel)
    {
        var options = new ServerOptions();
        var scheduler = new SchedulerOptions();
        name = Value(parsed, "--name");
        if (name is not null && (name.Length == 0 || name.Contains('/', StringComparison.Ordinal)))
        {
            problems.Add($"--name must be a non-empty name without '/', got '{name}'");
        }

        string? host = Value(parsed, "--host");
        if (host is not null)
        {
            if (host != "localhost" && !IPAddress.TryParse(host, out _))
            {
                problems.Add($"--host must be an IP address or 'localhost', got '{host}'");
            }

            options = options with { Host = host };
        }

        if (Value(parsed, "--port") is { } port)
        {
            options = int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) && p <= 65535
                ? options with { Port = p }
                : Problem(options, problems, $"--port must be an integer from 0 to 65535, got '{port}'");
        }

        if (Value(parsed, "--threads") is { } threads)
        {
            options = int.TryParse(threads, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t is >= 1 and <= 1024
                ? options with { Threads = t }
                : Problem(options, problems, $"--threads must be an integer from 1 to 1024, got '{threads}'");
        }

        if (Value(parsed, "--max-body-size") is { } body)
        {
            options = HumanValues.TryParseSize(body, out long bytes) && bytes >= 1
                ? options with { MaxRequestBodyBytes = bytes }
                : Problem(options, problems, $"--max-body-size must be a size such as 1m or 65536, got '{body}'");
        }

        if (Value(parsed, "--graceful-timeout") is { } graceful)
        {
            options = HumanValues.TryParseDuration(graceful, out TimeSpan g)
                ? options with { GracefulTimeout = g }
                : Problem(options, problems, $"--graceful-timeout must be a duration such as 30s, got '{graceful}'");
        }

        if (Value(parsed, "--queue-capacity") is { } capacity)
        {
            if (int.TryParse(capacity, NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c >= 1)
            {
                scheduler = scheduler with { QueueCapacity = c };
            }
            else
            {
                problems.Add($"--queue-capacity must be a positive integer, got '{capacity}'");
            }
        }

        if (Value(parsed, "--request-timeout") is { } timeout)
        {
            if (HumanValues.TryParseDuration(timeout, out TimeSpan d) && d > TimeSpan.Zero)
            {
                scheduler = scheduler with { RequestTimeout = d };
            }
            else
            {
                problems.Add($"--request-timeout must be a positive duration such as 30s or 500ms, got '{timeout}'");
            }
        }

        logLevel = LogLevel.Information;
        if (Value(parsed, "--log-level") is { } level)
        {
            if (!Enum.TryParse(level, ignoreCase: true, out logLevel) || int.TryParse(level, out _))
            {
                problems.Add($"--log-level must be one of trace, debug, information, warning, error, got '{level}'");
                logLevel = LogLevel.Information;
            }
        }

        problems.AddRange(scheduler.Validate());
        options = options with { Scheduler = scheduler };
        if (Value(parsed, "--workers") is { } workersText)
        {
            if (!int.TryParse(workersText, NumberStyles.None, CultureInfo.InvariantCulture, out int workers) || workers is < 1 or > 256)
            {
                problems.Add($"--workers must be an integer from 1 to 256, got '{workersText}'");
            }
            else
            {
                options = options with { ProcessMode = BuildProcessMode(parsed, problems, workers, options.GracefulTimeout) };
            }
        }
        else
        {
            foreach (string option in s_processModeOnly)
            {
                if (parsed.GetOption(option) is not null)
                {
                    problems.Add($"{option} applies to process mode only; add --workers N");
                }
            }
        }

        return options;
    }

    private static readonly string[] s_processModeOnly =
        ["--worker-threads", "--timeout", "--max-requests", "--max-requests-jitter", "--max-worker-memory"];

    private static WorkerPoolOptions BuildProcessMode(ParsedArguments parsed, List<string> problems, int workers, TimeSpan graceful)
    {
        var pool = new WorkerPoolOptions { Workers = workers, GracefulTimeout = graceful };
        if (Value(parsed, "--worker-threads") is { } threads)
        {
            pool = int.TryParse(threads, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t is >= 1 and <= 256
                ? pool with { ThreadsPerWorker = t }
                : Problem(pool, problems, $"--worker-threads must be an integer from 1 to 256, got '{threads}'");
        }

        if (Value(parsed, "--timeout") is { } timeout)
        {
            pool = HumanValues.TryParseDuration(timeout, out TimeSpan d) && d > TimeSpan.Zero
                ? pool with { Timeout = d, HeartbeatPeriod = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(250).Ticks, d.Ticks / 4)) }
                : Problem(pool, problems, $"--timeout must be a positive duration such as 30s, got '{timeout}'");
        }

        if (Value(parsed, "--max-requests") is { } max)
        {
            pool = long.TryParse(max, NumberStyles.None, CultureInfo.InvariantCulture, out long m)
                ? pool with { MaxRequests = m }
                : Problem(pool, problems, $"--max-requests must be a non-negative integer, got '{max}'");
        }

        if (Value(parsed, "--max-requests-jitter") is { } jitter)
        {
            pool = long.TryParse(jitter, NumberStyles.None, CultureInfo.InvariantCulture, out long j)
                ? pool with { MaxRequestsJitter = j }
                : Problem(pool, problems, $"--max-requests-jitter must be a non-negative integer, got '{jitter}'");
        }

        if (Value(parsed, "--max-worker-memory") is { } memory)
        {
            pool = HumanValues.TryParseSize(memory, out long bytes) && bytes > 0
                ? pool with { MaxWorkerMemoryBytes = bytes }
                : Problem(pool, problems, $"--max-worker-memory must be a size such as 512m, got '{memory}'");
        }

        return pool;
    }

    private static T Problem<T>(T options, List<string> problems, string message)
    {
        problems.Add(message);
        return options;
    }

    /// <summary>Flags win over the environment (SHARPSERVE_PORT for --port), which wins over defaults.</summary>
    private static string? Value(ParsedArguments parsed, string option)
    {
        string? value = parsed.GetOption(option);
        if (value is not null)
        {
            return value;
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable(option));
        return string.IsNullOrEmpty(fromEnvironment) ? null : fromEnvironment;
    }

    /// <summary>Where <see cref="Value"/> found an option, for messages: the flag, or its environment variable.</summary>
    private static string Setting(ParsedArguments parsed, string option) =>
        parsed.GetOption(option) is not null ? option : EnvironmentVariable(option);

    private static string EnvironmentVariable(string option) => "SHARPSERVE_" + option[2..].Replace('-', '_').ToUpperInvariant();
}
