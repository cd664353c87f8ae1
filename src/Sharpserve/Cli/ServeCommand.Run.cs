using System.CommandLine;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Scheduling;
using Sharpserve.Demo;
using Sharpserve.Hosting;
using Sharpserve.Http;
using Sharpserve.Python;
using Sharpserve.Supervision;

namespace Sharpserve.Cli;

internal sealed partial class ServeCommand
{
    private async Task<int> RunAsync(ParseResult parsed)
    {
        ServerOptions options = BuildOptions(parsed);
        LogLevel logLevel = parsed.GetValue(_logLevel);
        string? cacheDirectory = parsed.GetValue(_cacheDirectory);
        if (cacheDirectory is not null && !CacheDirectory.TryEnsureUsable(cacheDirectory, out string problem))
        {
            return CommandLine.Fail(
                $"{Setting.SourceOf(parsed, _cacheDirectory)} '{cacheDirectory}' is not a usable cache directory: {problem}", CommandLine.RuntimeFailure);
        }

        // Every model, and every worker (in its arguments), uses these settings and this cache directory.
        bool inWorkers = options.ProcessMode is not null;
        BackendCatalog catalog = _backends.Build(
            parsed,
            Path.GetFullPath(cacheDirectory ?? CacheDirectory.Get()),
            options.ProcessMode is { } pool ? pool.Workers * pool.ThreadsPerWorker : options.Threads);
        if (options.ProcessMode is { } processMode)
        {
            options = options with { ProcessMode = processMode with { WorkerSettings = catalog.WorkerSettings } };
        }

        // Until the server listens, liveness is answered on its addresses while the models are prepared and loaded;
        // each path below releases them (DisposeAsync) just before the server binds them.
        await using StartupResponder probes = StartupResponder.Start(options.Listen);

        // Python zygotes log for as long as they run, past the preparation log (disposed before the server starts).
        using ILoggerFactory pythonLogging = CreatePreparationLogging(logLevel);
        ILogger pythonLog = pythonLogging.CreateLogger("Sharpserve.Python");
        if (parsed.GetValue(_python) is { } python)
        {
            var entry = new PythonEntry(
                python, parsed.GetValue(_pythonPath) ?? [], parsed.GetValue(_pythonExe)!, parsed.GetValue(_name) ?? python[..python.IndexOf(':', StringComparison.Ordinal)]);
            ModelSource pythonModel;
            try
            {
                pythonModel = await PythonModelSource.OpenAsync(entry, pythonLog);
            }
            catch (ModelLoadException ex)
            {
                return CommandLine.Fail($"{Setting.SourceOf(parsed, _python)} {python}: {ex.Message}", CommandLine.RuntimeFailure);
            }

            await probes.DisposeAsync();
            return await SharpserveServer.RunAsync(options, [pythonModel], logLevel);
        }

        if (parsed.GetValue(_repository) is { } repositoryPath)
        {
            string? singleModel = parsed.GetValue(_name);
            ModelRepository repository = singleModel is null
                ? ModelRepository.Scan(repositoryPath, Setting.SourceOf(parsed, _repository)!)
                : ModelRepository.ScanSingleModel(repositoryPath, singleModel, Setting.SourceOf(parsed, _repository)!);
            if (repository.Problems.Count > 0)
            {
                // Configuration errors are all reported at once, each naming the setting.
                foreach (string repositoryProblem in repository.Problems)
                {
                    Console.Error.WriteLine($"sharpserve: error: {repositoryProblem}");
                }

                return CommandLine.UsageError; // the repository's layout and config.json are configuration, like flags
            }

            long maxModelMemory = parsed.GetValue(_maxModelMemory);
            if (maxModelMemory > 0 && ModelMemoryEstimate.Of(repository.Entries) is var needed && needed > maxModelMemory)
            {
                return CommandLine.Fail(
                    $"the models of {repositoryPath} total {needed} bytes (the size of their version folders), over {Setting.SourceOf(parsed, _maxModelMemory)} {maxModelMemory} bytes",
                    CommandLine.RuntimeFailure);
            }

            var pythonModels = new PythonRepositoryModels(parsed.GetValue(_pythonExe)!, pythonLog);
            if (OpenRepository(repository, catalog, inWorkers, logLevel, pythonModels, out List<ModelSource> sources) is { } failed)
            {
                return failed;
            }

            if (ApplyBatching(repository.Entries, sources, options.Batching, BatchingSetting(parsed), inWorkers) is { } refused)
            {
                return refused;
            }

            if (singleModel is not null)
            {
                // One model, as one model file is served: the repository API has no folders of DIR to list or load.
                await probes.DisposeAsync();
                return await SharpserveServer.RunAsync(options, sources, logLevel);
            }

            options = options with
            {
                ModelControl = new ModelControlOptions
                {
                    Mode = parsed.GetValue(_modelControl),
                    AdminToken = parsed.GetValue(_adminTokenFile) ?? parsed.GetValue(_adminToken),
                    MaxModelMemoryBytes = maxModelMemory,
                    Repository = new RepositoryModels(repositoryPath, catalog, inWorkers, pythonModels, pythonLog)
                    {
                        Batching = options.Batching,
                        BatchingSetting = BatchingSetting(parsed),
                    },
                    InitialEntries = repository.Entries,
                },
            };
            await probes.DisposeAsync();
            return await SharpserveServer.RunAsync(options, sources, logLevel);
        }

        string? modelPath = parsed.GetValue(_model);
        bool isDemo = modelPath is null;
        if (modelPath is not null && Directory.Exists(modelPath))
        {
            return CommandLine.Fail($"'{modelPath}' is a directory; give a model file (e.g. model.bin), or serve a model repository with --model-repository {modelPath}", CommandLine.RuntimeFailure);
        }

        if (modelPath is not null && !File.Exists(modelPath))
        {
            return CommandLine.Fail($"model file '{modelPath}' does not exist", CommandLine.RuntimeFailure);
        }

        try
        {
            modelPath ??= DemoModel.EnsureExtracted(catalog.CacheDirectory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CommandLine.Fail($"cannot write the demo model to the cache directory: {ex.Message}", CommandLine.RuntimeFailure);
        }

        string name = parsed.GetValue(_name) ?? (isDemo ? DemoModel.Name : Path.GetFileNameWithoutExtension(modelPath));
        ModelSource model;
        try
        {
            using ILoggerFactory logging = CreatePreparationLogging(logLevel);
            model = OpenSource(modelPath, name, catalog, inWorkers, logging.CreateLogger("Sharpserve"));
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, CommandLine.RuntimeFailure);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CommandLine.Fail($"cannot prepare the model image in the cache directory: {ex.Message}", CommandLine.RuntimeFailure);
        }

        if (BatchingCheck.Problem(model.Description, options.Batching, BatchingSetting(parsed)) is { } batchingProblem)
        {
            model.Model?.Dispose();
            return CommandLine.Fail(batchingProblem, CommandLine.UsageError);
        }

        await probes.DisposeAsync();
        return await SharpserveServer.RunAsync(options, [model], logLevel);
    }

    /// <summary>How the server's batching was set, for messages: "--max-batch-size 8" (or its variable).</summary>
    private string BatchingSetting(ParseResult parsed) =>
        $"{Setting.SourceOf(parsed, _maxBatchSize) ?? "--max-batch-size"} {parsed.GetValue(_maxBatchSize)}";

    /// <summary>
    /// Gives each repository model its own batching (its config.json's, the server's delay filling in) and checks every
    /// batched model can be; all problems are reported at once and nothing is served.
    /// </summary>
    /// <returns>null when every model can batch as set; otherwise the exit code, 2, with the problems printed.</returns>
    private static int? ApplyBatching(
        IReadOnlyList<ModelRepository.Entry> entries, List<ModelSource> sources, BatchingOptions server, string serverSetting, bool inWorkers)
    {
        var problems = new List<string>();
        for (int i = 0; i < sources.Count; i++)
        {
            (sources[i], string? problem) = WithBatching(entries[i], sources[i], server, serverSetting, inWorkers);
            if (problem is not null)
            {
                problems.Add(problem);
            }
        }

        if (problems.Count == 0)
        {
            return null;
        }

        foreach (ModelSource source in sources)
        {
            source.Model?.Dispose();
            source.Resources?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        foreach (string problem in problems)
        {
            Console.Error.WriteLine($"sharpserve: error: {problem}");
        }

        return CommandLine.UsageError;
    }

    /// <summary>
    /// <paramref name="source"/> with the batching its repository entry sets (over the server's), and what stops the
    /// model from batching so, or null. Python models and process mode take no server batching (the flags refuse
    /// process mode; a repository's Python models do not batch yet).
    /// </summary>
    internal static (ModelSource Source, string? Problem) WithBatching(
        ModelRepository.Entry entry, ModelSource source, BatchingOptions server, string serverSetting, bool inWorkers)
    {
        if (entry.Batching is { } own)
        {
            BatchingOptions batching = own.Resolve(server.MaxQueueDelay);
            string setting = $"{Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(entry.ModelPath))!, ModelRepository.ConfigFileName)}: max_batch_size {own.MaxBatchSize}";
            string? problem = inWorkers && batching.IsEnabled
                ? $"{setting}: model '{entry.Name}' runs in worker processes (--workers), which do not batch yet"
                : BatchingCheck.Problem(source.Description, batching, setting);
            return (source with { Batching = batching }, problem);
        }

        return source.Launcher is not null || inWorkers
            ? (source, null)
            : (source, BatchingCheck.Problem(source.Description, server, serverSetting));
    }

    /// <summary>
    /// The log of preparing the models, which happens before the server and its logging exist: the same console format
    /// and level. It is disposed (its queue flushed) before the server starts logging, so the lines stay in order.
    /// </summary>
    private static ILoggerFactory CreatePreparationLogging(LogLevel logLevel) =>
        LoggerFactory.Create(logging => SharpserveServer.ConfigureConsoleLogging(logging, logLevel));

    /// <summary>The parsed and checked options (each value was validated by its parser, the combinations by <see cref="Validate"/>).</summary>
    private ServerOptions BuildOptions(ParseResult parsed)
    {
        IReadOnlyList<ListenAddress> binds = parsed.GetValue(_bind) ?? [];
        int port = parsed.GetValue(_port);
        string host = parsed.GetValue(_host)!;
        IReadOnlyList<ListenAddress> listen = binds.Count > 0 ? binds
            : ListenAddress.TryFromHost(host, port, out ListenAddress? single, out _) ? [single!]
            : throw new InvalidOperationException("the host was validated by its parser");
        var scheduler = new SchedulerOptions
        {
            QueueCapacity = parsed.GetValue(_queueCapacity),
            RequestTimeout = parsed.GetValue(_requestTimeout),
        };
        TimeSpan graceful = parsed.GetValue(_gracefulTimeout);
        string? accessLog = parsed.GetValue(_accessLog);
        return new ServerOptions
        {
            Listen = listen,
            GrpcListen = GrpcListen(parsed, listen),
            Threads = parsed.GetValue(_threads),
            MaxRequestBodyBytes = parsed.GetValue(_maxBodySize),
            GracefulTimeout = graceful,
            Scheduler = scheduler,
            Batching = new BatchingOptions { MaxBatchSize = parsed.GetValue(_maxBatchSize), MaxQueueDelay = parsed.GetValue(_batchDelay) },
            AccessLog = accessLog is null ? null : new AccessLogOptions(accessLog, parsed.GetValue(_accessLogFormat)),
            ForwardedAllowIps = parsed.GetValue(_forwardedAllowIps)!,
            ProcessMode = Setting.IsGiven(parsed, _workers) || Setting.IsGiven(parsed, _python) ? BuildProcessMode(parsed, graceful) : null,
        };
    }

    /// <summary>
    /// Where gRPC listens: --grpc-port on the host of the first TCP listener (8001 by default, like Triton; 0 when that
    /// listener's port is 0, so servers started on free ports never contend for 8001); with only Unix sockets, nowhere
    /// unless --grpc-port is given, then on 127.0.0.1.
    /// </summary>
    private ListenAddress? GrpcListen(ParseResult parsed, IReadOnlyList<ListenAddress> listen)
    {
        int port = parsed.GetValue(_grpcPort);
        if (port == GrpcOff)
        {
            return null;
        }

        bool given = Setting.IsGiven(parsed, _grpcPort);
        ListenAddress? http = null;
        foreach (ListenAddress address in listen)
        {
            if (!address.IsUnix)
            {
                http = address;
                break;
            }
        }

        if (http is null)
        {
            return given ? ListenAddress.Tcp(System.Net.IPAddress.Loopback, port) : null;
        }

        return http.WithPort(given || http.Port != 0 ? port : 0);
    }

    private WorkerPoolOptions BuildProcessMode(ParseResult parsed, TimeSpan graceful)
    {
        TimeSpan timeout = parsed.GetValue(_timeout);
        return new WorkerPoolOptions
        {
            // A Python model without --workers gets one worker per core, as its workers are its only executors.
            Workers = Setting.IsGiven(parsed, _workers) ? parsed.GetValue(_workers) : Environment.ProcessorCount,
            GracefulTimeout = graceful,
            ThreadsPerWorker = parsed.GetValue(_workerThreads),
            Timeout = timeout,
            HeartbeatPeriod = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMilliseconds(250).Ticks, timeout.Ticks / 4)),
            MaxRequests = parsed.GetValue(_maxRequests),
            MaxRequestsJitter = parsed.GetValue(_maxRequestsJitter),
            MaxWorkerMemoryBytes = parsed.GetValue(_maxWorkerMemory),
        };
    }

    /// <summary>
    /// Opens every (model, version) of a scanned repository, in its order (the first is the default model). All of
    /// them are tried so that every unusable model is reported at once; then nothing is served.
    /// </summary>
    /// <returns>null when all opened; otherwise the exit code, 1, with the failures printed.</returns>
    private static int? OpenRepository(
        ModelRepository repository, BackendCatalog catalog, bool inWorkers, LogLevel logLevel, PythonRepositoryModels python, out List<ModelSource> sources)
    {
        sources = new List<ModelSource>(repository.Entries.Count);
        var failures = new List<string>();
        using ILoggerFactory logging = CreatePreparationLogging(logLevel);
        ILogger log = logging.CreateLogger("Sharpserve");
        foreach (ModelRepository.Entry entry in repository.Entries)
        {
            try
            {
                sources.Add(entry.PythonEntry is { } pythonEntry
                    ? python.Open(entry, pythonEntry)
                    : OpenSource(entry.ModelPath, entry.Name, catalog, inWorkers, log) with { Version = entry.Version });
            }
            catch (ModelLoadException ex)
            {
                failures.Add(ex.Message.Contains(entry.ModelPath, StringComparison.Ordinal) ? ex.Message : $"{entry.ModelPath}: {ex.Message}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
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
            source.Model?.Dispose();
            source.Resources?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        foreach (string failure in failures)
        {
            Console.Error.WriteLine($"sharpserve: error: {failure}");
        }

        return CommandLine.RuntimeFailure;
    }

    /// <summary>
    /// Prepares <paramref name="source"/> (its model image, or for ONNX its baked shared form) and opens what the
    /// front needs. What the server and every worker map is what Sharpserve prepared (rebuilt when the source
    /// changed), never the user's file. In process mode (<paramref name="inWorkers"/>) the workers run the model and
    /// the front only describes it (docs/architecture.md).
    /// </summary>
    /// <param name="log">
    /// Where preparing logs its progress and what it built or reused (a bar on stderr instead of the progress lines
    /// when that is a terminal); null prepares silently.
    /// </param>
    /// <exception cref="ModelLoadException">The model is unusable; the message names the file.</exception>
    /// <exception cref="IOException">The cache directory cannot be written.</exception>
    internal static ModelSource OpenSource(string source, string name, BackendCatalog catalog, bool inWorkers, ILogger? log = null)
    {
        string Prepare() => ModelLoader.PreparedPath(source, null, catalog);
        string served = log is null
            ? Prepare()
            : PreparationProgress.Run(
                source,
                line => Log.Preparation(log, line),
                progress => ModelLoader.Prepare(source, null, outputPath: null, catalog, progress)).PreparedPath;
        ModelSource opened = inWorkers
            ? new ModelSource(ModelLoader.Describe(served, name, catalog), served, Prepare)
            : new ModelSource(ModelLoader.Open(served, name, catalog), served, Prepare);
        return opened with { WorkersStartTogether = ModelLoader.IsModelImage(served) };
    }
}
