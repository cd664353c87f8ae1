using System.CommandLine;
using Microsoft.Extensions.Logging;
using Sharpserve.Hosting;
using Sharpserve.Http;
using Sharpserve.Supervision;
using static Sharpserve.Cli.SettingParsers;

namespace Sharpserve.Cli;

/// <summary>
/// <c>sharpserve serve [MODEL | --model-repository DIR] [options]</c>: the options (each also read from
/// <c>SHARPSERVE_&lt;NAME&gt;</c>), parsed and checked once into <see cref="ServerOptions"/>; then the model(s) are
/// opened and served until SIGTERM (ServeCommand.Run.cs).
/// </summary>
internal sealed partial class ServeCommand
{
    public const string Epilog = """
        Listening (gunicorn's forms): -b/--bind is repeatable and takes HOST:PORT, [IPv6]:PORT, :PORT (every
        address, IPv4 and IPv6), HOST (port 8000) or unix:PATH (a Unix socket, mode 0660, removed on exit).
        --host/--port are shorthands for one HOST:PORT; give them or --bind, not both. The default is
        127.0.0.1:8000: nothing is exposed unless asked.

        gRPC: the KServe v2 gRPC service (inference.GRPCInferenceService, docs/grpc.md) listens on --grpc-port (default
        8001, Triton's) at the host of --host, or of the first TCP --bind; when that HTTP port is 0 the gRPC port is 0
        too (a free one), and with only unix: binds there is no gRPC unless --grpc-port is given (then on 127.0.0.1).
        Its largest request message is --max-body-size.

        Python models: --python MODULE:ATTR serves a class with load() and predict(data) from worker processes
        forked by one zygote that loaded it once (docs/python-backend.md); -w/--workers defaults to one per core.

        Process mode signals: SIGHUP reloads the model, SIGTTIN adds a worker, SIGTTOU removes one;
        SIGUSR1 reopens the access log; SIGTERM and SIGINT drain in-flight requests and exit.

        Model repository (--model-repository DIR, like Triton's), read once at start:
          DIR/<model>/config.json           optional: {"name", "backend": "onnxruntime"|"fasttext"|"python",
                                            "default_model_filename", "version_policy": {"latest": {"num_versions": N}}
                                            (default N = 1) | {"all": {}} | {"specific": {"versions": [1, 3]}},
                                            "entry": "model:Model" (Python models), "max_batch_size": N,
                                            "dynamic_batching": {"max_queue_delay": "2ms", "preferred_batch_size": [4, 8]}}
          DIR/<model>/<version>/model.onnx  or model.bin (fastText), or model.py (Python); <version> is a positive integer
        With --name NAME, one model only, as KServe lays out a storage URI at /mnt/models: DIR/NAME/ if that folder
        exists; else DIR is the model folder (DIR/[config.json], DIR/<version>/model.*); else, with no version folders,
        DIR holds the model itself as version 1 (DIR/[config.json], DIR/model.onnx, model.bin or a Python module).
        Every selected (model, version) is served at /v2/models/<model>/versions/<version> with its own executors
        (--threads or --workers each); /v2/models/<model> is its highest version; /labelservice/ uses the first
        model in name order. Names are letters, digits, '_', '-', '.'; entries starting with '.' are skipped.
        POST /v2/repository/index lists the repository's models and their state. With --model-control explicit,
        POST /v2/repository/models/<model>/load and .../unload (Authorization: Bearer <token of --admin-token-file>,
        from a loopback address or a Unix socket only) load a model folder, even one added after start, and unload one.

        Dynamic batching (thread mode): with --max-batch-size N an executor thread joins up to N queued requests whose
        inputs have the same names, datatypes and dimensions but the first into one model call (ONNX: one run over the
        rows of all of them); the first request waits at most --batch-delay for company. A model's config.json
        max_batch_size and dynamic_batching win over the flags. Batching a model whose inputs or outputs have a fixed
        first dimension is an error at start.

        Every option can also come from the environment as SHARPSERVE_<NAME> (SHARPSERVE_PORT=9000,
        SHARPSERVE_BIND=0.0.0.0:80,unix:/run/s.sock); a flag wins over the environment. Exit codes: 2 for a
        mistake on the command line or in the environment, 1 when serving fails (model unusable, address in use).
        """;

    private readonly Argument<string?> _model = new("MODEL")
    {
        Description = $"a model file ({BackendCatalog.Default.SupportedFormats}); without it, the embedded demo model",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private readonly Option<string?> _python = Setting.Create<string?>(
        "--python", "serve a Python model: MODULE:ATTR, a class (made with no arguments), a factory or an instance with predict(data)", "MODULE:ATTR", null, PythonEntryText);

    private readonly Option<IReadOnlyList<string>> _pythonPath = Setting.CreateList<string>(
        "--python-path", "a folder put first on the Python model's sys.path, repeatable (the working directory follows)", "DIR", Text);

    private readonly Option<string> _pythonExe = Setting.Create<string>(
        "--python-exe", "the Python interpreter, e.g. a venv's bin/python (default python3 on PATH)", "PATH", Python.PythonEntry.DefaultExecutable, Text);

    private readonly Option<string?> _repository = Setting.Create<string?>(
        "--model-repository", "serve every model and version of DIR (layout below) instead of one MODEL", "DIR", null, NullableText);

    private readonly Option<IReadOnlyList<ListenAddress>> _bind = Setting.CreateList<ListenAddress>(
        "--bind", "where to listen, repeatable: HOST:PORT, [IPv6]:PORT, :PORT, unix:PATH (default 127.0.0.1:8000)", "ADDRESS", Bind, "-b");

    private readonly Option<string> _host = Setting.Create<string>(
        "--host", "address to bind (default 127.0.0.1; 0.0.0.0 or :: to expose it)", "ADDRESS", "127.0.0.1", Host);

    private readonly Option<int> _port = Setting.Create(
        "--port", "TCP port (default 8000; 0 picks a free port)", "N", ListenAddress.DefaultPort, Port);

    /// <summary>Triton's gRPC port, beside its HTTP 8000 as ours is.</summary>
    public const int DefaultGrpcPort = 8001;

    /// <summary>The value of <c>--grpc-port off</c>.</summary>
    public const int GrpcOff = -1;

    private readonly Option<int> _grpcPort = Setting.Create(
        "--grpc-port", "KServe v2 gRPC port on the HTTP host, HTTP/2 only (default 8001; 0 when the HTTP port is 0; 'off': no gRPC)", "N|off",
        DefaultGrpcPort, GrpcPort);

    private readonly Option<int> _threads = Setting.Create(
        "--threads", "thread mode: executor threads (default: the number of cores)", "N", Environment.ProcessorCount, Integer(1, 1024));

    private readonly Option<int> _workers = Setting.Create(
        "--workers", "process mode: N supervised worker processes sharing one mapped model", "N", 0, Integer(1, 256), "-w");

    private readonly Option<int> _workerThreads = Setting.Create(
        "--worker-threads", "process mode: executor threads in each worker (default 1)", "N", 1, Integer(1, 256));

    private readonly Option<TimeSpan> _timeout = Setting.Create(
        "--timeout", "process mode: kill and replace a worker silent or stuck this long (default 30s, at least 100ms)", "TIME",
        TimeSpan.FromSeconds(30), Duration("30s", MinimumTimeout, "100ms", "below it, a busy machine's scheduling delays look like a hung worker"), "-t");

    /// <summary>
    /// The shortest --timeout: heartbeats go out every quarter of it, and a worker that misses a few milliseconds of
    /// CPU on a loaded machine must not look dead (at 4ms every worker was killed in turn; below 4ms the heartbeat
    /// period was under the timer's 1 ms resolution).
    /// </summary>
    private static readonly TimeSpan MinimumTimeout = TimeSpan.FromMilliseconds(100);

    private readonly Option<long> _maxRequests = Setting.Create(
        "--max-requests", "process mode: recycle a worker after N requests (default 0: never)", "N", 0L, Count());

    private readonly Option<long> _maxRequestsJitter = Setting.Create(
        "--max-requests-jitter", "process mode: add 0..N at random to --max-requests per worker", "N", 0L, Count());

    private readonly Option<long> _maxWorkerMemory = Setting.Create(
        "--max-worker-memory", "process mode: recycle a worker whose private memory grew more than SIZE since it was ready, e.g. 512m (at least 8m)", "SIZE", 0L,
        Size(WorkerPoolOptions.MinWorkerMemoryBytes, "512m", "must be at least 8m (a worker's heap moves by a few MiB as it serves)"));

    private readonly Option<string?> _cacheDirectory = Setting.Create<string?>(
        "--cache-dir", "where model images are kept (default $SHARPSERVE_CACHE_DIR or ~/.cache/sharpserve)", "DIR", null, NullableText);

    private readonly Option<string?> _name = Setting.Create<string?>(
        "--name", "model name in /v2/models/NAME (default: the file name without extension); with --model-repository, serve that one model (layouts below)", "NAME", null, NullableModelName);

    private readonly Option<long> _maxBodySize = Setting.Create(
        "--max-body-size", "largest request body, e.g. 1m, 512k (default 1m); larger gets 413", "SIZE", 1L << 20, Size(1, "1m or 65536"));

    private readonly Option<int> _queueCapacity = Setting.Create(
        "--queue-capacity", "requests waiting for an executor before 503 (default 1024)", "N", 1024, Integer(1, int.MaxValue));

    private readonly Option<TimeSpan> _requestTimeout = Setting.Create(
        "--request-timeout", "answer 504 past this, e.g. 30s, 500ms (default 30s)", "TIME", TimeSpan.FromSeconds(30), Duration("30s or 500ms"));

    private readonly Option<TimeSpan> _gracefulTimeout = Setting.Create(
        "--graceful-timeout", "on SIGTERM / Ctrl-C, wait this long for in-flight requests (default 30s)", "TIME",
        TimeSpan.FromSeconds(30), Duration("30s", allowZero: true));

    private readonly Option<LogLevel> _logLevel = Setting.Create<LogLevel>(
        "--log-level", "trace, debug, information, warning, error (default information)", "LEVEL", LogLevel.Information, LogLevelName);

    private readonly Option<string?> _accessLog = Setting.Create<string?>(
        "--access-log", "write one line per request to FILE, or '-' for standard output (default: none)", "FILE|-", null, NullableText);

    private readonly Option<AccessLogFormat> _accessLogFormat = Setting.Create(
        "--access-log-format", "combined (gunicorn's default) or json (default combined)", "FORMAT",
        AccessLogFormat.Combined, AccessLogFormatName);

    private readonly Option<TrustedProxies> _forwardedAllowIps = Setting.Create(
        "--forwarded-allow-ips", "trust X-Forwarded-For/-Proto from these addresses or networks, or '*' (default 127.0.0.1,::1)", "LIST",
        TrustedProxies.Loopback, Proxies);

    private readonly Option<ModelControlMode> _modelControl = Setting.Create(
        "--model-control", "none (default) or explicit: POST /v2/repository/models/NAME/load|unload with the admin token, from this machine only", "MODE",
        ModelControlMode.None, ModelControlName);

    private readonly Option<string?> _adminToken = Setting.Create<string?>(
        "--admin-token", "with --model-control explicit: the admin token itself (the process list shows arguments: prefer SHARPSERVE_ADMIN_TOKEN or --admin-token-file)", "TOKEN", null, AdminToken);

    private readonly Option<string?> _adminTokenFile = Setting.Create<string?>(
        "--admin-token-file", "with --model-control explicit: the file holding the admin token clients send as Authorization: Bearer TOKEN", "FILE", null, AdminTokenFile);

    private readonly Option<long> _maxModelMemory = Setting.Create(
        "--max-model-memory", "with --model-repository: refuse a load (and a start) whose models' files would total more than SIZE, e.g. 4g", "SIZE", 0L,
        Size(1, "4g or 512m"));

    private readonly Option<int> _maxBatchSize = Setting.Create(
        "--max-batch-size", "thread mode: dynamic batching, at most N requests per model call (default 1: off)", "N", 1,
        Integer(1, ModelRepository.MaxBatchSizeLimit));

    private readonly Option<TimeSpan> _batchDelay = Setting.Create(
        "--batch-delay", "with batching: how long a request may wait for others to join its batch, e.g. 1ms, 0.5ms, 0 (default 1ms)", "TIME",
        TimeSpan.FromMilliseconds(1), Duration("1ms", allowZero: true));

    private readonly BackendSettings _backends = new();

    private ServeCommand()
    {
        Command = new Command("serve", "Serve MODEL (default: the embedded demo model) over HTTP: POST /labelservice/ and the Open Inference Protocol v2 under /v2.")
        {
            _model, _repository, _bind, _host, _port, _grpcPort, _threads, _workers, _workerThreads, _timeout, _maxRequests,
            _maxRequestsJitter, _maxWorkerMemory, _cacheDirectory, _name, _maxBodySize, _queueCapacity, _requestTimeout,
            _gracefulTimeout, _logLevel, _accessLog, _accessLogFormat, _forwardedAllowIps, _python, _pythonPath, _pythonExe,
            _modelControl, _adminToken, _adminTokenFile, _maxModelMemory, _maxBatchSize, _batchDelay,
        };
        foreach (Option option in _backends.Options)
        {
            Command.Add(option);
        }

        _model.Validators.Add(CommandLine.RefuseOptionLikeArgument);
        Command.Validators.Add(Validate);
        Command.SetAction((parsed, _) => RunAsync(parsed));
    }

    public Command Command { get; }

    public static Command Create() => new ServeCommand().Command;

    /// <summary>Checks across options (each option's own value was checked by its parser).</summary>
    private void Validate(System.CommandLine.Parsing.CommandResult result)
    {
        System.CommandLine.Parsing.CommandResult parsed = result;
        if (Setting.SourceOf(parsed, _bind) is { } bind &&
            (Setting.SourceOf(parsed, _host) ?? Setting.SourceOf(parsed, _port)) is { } hostPort &&
            bind.StartsWith('-') == hostPort.StartsWith('-'))
        {
            result.AddError($"give {bind} or {hostPort}, not both: --host/--port are shorthands for one --bind HOST:PORT");
        }

        bool python = Setting.IsGiven(parsed, _python);
        if (python)
        {
            string flag = Setting.SourceOf(parsed, _python)!;
            if (parsed.GetValue(_model) is { } model)
            {
                result.AddError($"give either MODEL ('{model}') or {flag}, not both");
            }

            if (Setting.SourceOf(parsed, _repository) is { } repositoryFlag)
            {
                result.AddError($"give either {flag} or {repositoryFlag}, not both (a repository's Python models say \"backend\": \"python\" in config.json)");
            }

            if (Setting.SourceOf(parsed, _workerThreads) is { } threads)
            {
                result.AddError($"{threads} does not apply to {flag}: a Python worker runs one request at a time (the GIL); add workers with --workers");
            }

            if (Setting.SourceOf(parsed, _threads) is { } threadMode)
            {
                result.AddError($"{threadMode} does not apply to {flag}: Python models run in worker processes; use --workers");
            }
        }
        else if (!Setting.IsGiven(parsed, _repository))
        {
            foreach (Option option in (Option[])[_pythonPath, _pythonExe])
            {
                if (Setting.SourceOf(parsed, option) is { } source)
                {
                    result.AddError($"{source} applies to Python models only; add --python MODULE:ATTR");
                }
            }
        }

        if (!Setting.IsGiven(parsed, _workers) && !python)
        {
            foreach (Option option in (Option[])[_workerThreads, _timeout, _maxRequests, _maxRequestsJitter, _maxWorkerMemory])
            {
                if (Setting.SourceOf(parsed, option) is { } source)
                {
                    result.AddError($"{source} applies to process mode only; add --workers N");
                }
            }
        }

        if (Setting.SourceOf(parsed, _repository) is { } repository)
        {
            if (parsed.GetValue(_model) is { } model)
            {
                result.AddError($"give either MODEL ('{model}') or {repository} ('{Setting.TextOf(parsed, _repository)}'), not both");
            }

            if (Setting.SourceOf(parsed, _name) is { } name && string.Equals(Setting.TextOf(parsed, _modelControl), "explicit", StringComparison.OrdinalIgnoreCase))
            {
                result.AddError($"{name} serves one model of {repository}; the repository API (--model-control explicit) loads any of its folders: give one or the other");
            }
        }

        ValidateBatching(parsed, result, python);
        ValidateModelControl(parsed, result);
        if (Setting.SourceOf(parsed, _accessLogFormat) is { } format && !Setting.IsGiven(parsed, _accessLog))
        {
            result.AddError($"{format} needs --access-log FILE or '-'");
        }
    }

    /// <summary>Batching runs in thread mode (workers do not batch yet); the delay needs something to batch.</summary>
    private void ValidateBatching(System.CommandLine.Parsing.CommandResult parsed, System.CommandLine.Parsing.CommandResult result, bool python)
    {
        if (Setting.SourceOf(parsed, _maxBatchSize) is { } batch && Setting.TextOf(parsed, _maxBatchSize) != "1")
        {
            if ((python ? Setting.SourceOf(parsed, _python) : Setting.SourceOf(parsed, _workers)) is { } processMode)
            {
                result.AddError($"{batch} applies to thread mode only: worker processes ({processMode}) do not batch yet");
            }
        }
        else if (Setting.SourceOf(parsed, _batchDelay) is { } delay && !Setting.IsGiven(parsed, _repository))
        {
            result.AddError($"{delay} needs --max-batch-size N (2 or more), or a model repository whose config.json sets max_batch_size");
        }
    }

    /// <summary>Load and unload need a repository to load from and the token; the token and the limit need them.</summary>
    private void ValidateModelControl(System.CommandLine.Parsing.CommandResult parsed, System.CommandLine.Parsing.CommandResult result)
    {
        // The text, not the value: a bad value is its parser's error, and reading it here would throw.
        bool explicitControl = string.Equals(Setting.TextOf(parsed, _modelControl), "explicit", StringComparison.OrdinalIgnoreCase);
        if (explicitControl)
        {
            string flag = Setting.SourceOf(parsed, _modelControl)!;
            if (!Setting.IsGiven(parsed, _repository))
            {
                result.AddError($"{flag} explicit needs --model-repository DIR: models are loaded from the repository only");
            }

            if (!Setting.IsGiven(parsed, _adminTokenFile) && !Setting.IsGiven(parsed, _adminToken))
            {
                result.AddError($"{flag} explicit needs --admin-token-file FILE (or --admin-token / SHARPSERVE_ADMIN_TOKEN): load and unload require the admin token");
            }
        }
        else if ((Setting.SourceOf(parsed, _adminTokenFile) ?? Setting.SourceOf(parsed, _adminToken)) is { } token)
        {
            result.AddError($"{token} applies to --model-control explicit only");
        }

        if (Setting.SourceOf(parsed, _adminTokenFile) is { } file && Setting.SourceOf(parsed, _adminToken) is { } given)
        {
            result.AddError($"give {given} or {file}, not both");
        }

        if (Setting.SourceOf(parsed, _maxModelMemory) is { } memory && !Setting.IsGiven(parsed, _repository))
        {
            result.AddError($"{memory} applies to --model-repository only");
        }
    }

    private static bool GrpcPort(string text, out int value, out string reason)
    {
        reason = "must be an integer from 0 to 65535, or 'off'";
        if (text.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            value = GrpcOff;
            return true;
        }

        return ListenAddress.TryParsePort(text, out value);
    }

    private static bool PythonEntryText(string text, out string? value, out string reason)
    {
        value = text;
        reason = Python.PythonEntry.Check(text) ?? "";
        return reason.Length == 0;
    }

    private static bool Text(string text, out string value, out string reason)
    {
        value = text;
        reason = "must not be empty";
        return text.Length > 0;
    }

    private static bool NullableText(string text, out string? value, out string reason)
    {
        value = text;
        reason = "must not be empty";
        return text.Length > 0;
    }

    private static bool NullableModelName(string text, out string? value, out string reason)
    {
        bool valid = ModelName(text, out string name, out reason);
        value = name;
        return valid;
    }
}
