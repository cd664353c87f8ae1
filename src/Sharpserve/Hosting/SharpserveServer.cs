using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;
using Sharpserve.Grpc;
using Sharpserve.Http;
using Sharpserve.Metrics;
using Sharpserve.Supervision;

namespace Sharpserve.Hosting;

/// <summary>
/// One running Sharpserve: Kestrel in front, a <see cref="ModelRegistry"/> behind. Start returns once Kestrel
/// listens; <see cref="WhenReady"/> completes after every executor and every endpoint has been warmed, and only
/// then does readiness turn true.
/// </summary>
public sealed partial class SharpserveServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ModelRegistry _registry;
    private readonly ServerOptions _options;
    private readonly WarmupGate _warmupGate;
    private readonly ILogger _logger;
    private Task _whenReady = Task.CompletedTask;
    private readonly ConcurrentDictionary<ServedModel, ModelSource> _sources = new();
    private readonly RequestEpochs _epochs = new();
    private RepositoryModelControl _modelControl = null!;
    private ILogger _executorLogger = null!;
    private ILogger _poolLogger = null!;
    private TimeProvider? _time;
    private readonly RequestMetrics _requestMetrics = new();
    private readonly RequestMetrics _warmupMetrics = new();
    private Listeners? _listeners;
    private Listeners? _grpcListeners;
    private AccessLog? _accessLog;
    private readonly ShutdownDrain _drain;
    private int _disposed;

    private SharpserveServer(WebApplication app, ModelRegistry registry, ServerOptions options, WarmupGate warmupGate, ShutdownDrain drain)
    {
        _app = app;
        _drain = drain;
        _registry = registry;
        _options = options;
        _warmupGate = warmupGate;
        _logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Sharpserve");
    }

    /// <summary>
    /// Where a client on this machine reaches the first listener, e.g. http://127.0.0.1:8000/ (with the real port when 0
    /// was asked for; a loopback address for a wildcard bind; http://localhost/ for a Unix socket).
    /// </summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Every address the server listens on, with real ports.</summary>
    public IReadOnlyList<ListenAddress> ListenAddresses { get; private set; } = [];

    /// <summary>
    /// Where a client on this machine reaches the gRPC service (http://127.0.0.1:8001/, with the real port when 0 was
    /// asked for), or null when gRPC is off.
    /// </summary>
    public Uri? GrpcAddress { get; private set; }

    public ModelRegistry Registry => _registry;

    /// <summary>Completes when the server has turned ready; faults when warm-up failed.</summary>
    public Task WhenReady => _whenReady;

    /// <summary>Starts thread mode on already opened models (tests, embedding).</summary>
    public static Task<SharpserveServer> StartAsync(
        ServerOptions options,
        IReadOnlyList<IModel> models,
        Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(models);
        var sources = new ModelSource[models.Count];
        for (int i = 0; i < sources.Length; i++)
        {
            sources[i] = new ModelSource(models[i]);
        }

        return StartAsync(options, sources, configureLogging, time);
    }

    public static async Task<SharpserveServer> StartAsync(
        ServerOptions options,
        IReadOnlyList<ModelSource> models,
        Action<ILoggingBuilder>? configureLogging = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(models);
        // Every address is checked before anything starts, so a port in use or an address that is not this machine's
        // is one clear line (ListenException), with no worker process started for nothing.
        Listeners listeners = Listeners.Check(options.Listeners);
        Listeners? grpcListeners = CheckGrpc(options, listeners);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.GracefulTimeout);
        RejectionBodies? rejections = null;
        SharpserveServer? started = null;
        var drain = new ShutdownDrain(() => started?.OnStopping());
        builder.Services.AddSingleton<IHostedService>(drain);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            rejections = new RejectionBodies(kestrel.Limits);
            listeners.Configure(kestrel, rejections.Use);
            grpcListeners?.Configure(kestrel, GrpcHosting.ConfigureListener);
        });

        ILoggerFactory loggerFactory = builder.Services.BuildServiceProvider().GetRequiredService<ILoggerFactory>();
        AccessLog? accessLog = options.AccessLog is { } accessLogOptions
            ? AccessLog.Open(accessLogOptions, options.ForwardedAllowIps, loggerFactory.CreateLogger("Sharpserve.AccessLog"))
            : null;
        ILogger executorLogger = loggerFactory.CreateLogger("Sharpserve.Execution");
        ILogger poolLogger = loggerFactory.CreateLogger("Sharpserve.Supervision");
        var served = new List<ServedModel>(models.Count);
        foreach (ModelSource source in models)
        {
            served.Add(CreateServed(source, options, executorLogger, poolLogger, time));
        }

        var registry = new ModelRegistry(served);
        var warmupGate = new WarmupGate();
        GrpcInferenceService? grpcService = null;
        if (grpcListeners is not null)
        {
            GrpcHosting.AddServices(builder.Services, options.MaxRequestBodyBytes);
            grpcService = new GrpcInferenceService(registry, () => drain.IsShuttingDown) { ModelControl = options.ModelControl, WarmupGate = warmupGate };
            builder.Services.AddSingleton(grpcService);
        }

        // Executors first: in process mode a worker's model load is the longest step before ready, so it starts
        // before the web host is built.
        registry.Start();
        WebApplication app = builder.Build();
        var server = new SharpserveServer(app, registry, options, warmupGate, drain)
        {
            _listeners = listeners, _grpcListeners = grpcListeners, _accessLog = accessLog, _executorLogger = executorLogger, _poolLogger = poolLogger, _time = time,
        };
        for (int i = 0; i < served.Count; i++)
        {
            server._sources[served[i]] = models[i];
        }

        server._modelControl = new RepositoryModelControl(server, options.ModelControl, server._logger);
        if (grpcService is not null)
        {
            grpcService.Repository = server._modelControl;
        }
        server.MapEndpoints();
        started = server;
        app.Lifetime.ApplicationStopping.Register(drain.BeginShutdown);

        try
        {
            await app.StartAsync();
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException)
        {
            // Lost a race with another process for an address checked above.
            await server.DisposeAsync();
            SocketError code = (ex as System.Net.Sockets.SocketException ?? ex.InnerException as System.Net.Sockets.SocketException)?.SocketErrorCode ?? SocketError.SocketError;
            Listeners lost = grpcListeners is not null && ex.Message.Contains($":{grpcListeners.Requested[0].Port}", StringComparison.Ordinal) ? grpcListeners : listeners;
            throw new ListenException(lost.Explain(code, ex.Message), ex);
        }

        listeners.SecureUnixSockets();
        server.ListenAddresses = listeners.Bound;
        server.Address = SelfClient.BaseAddress(server.ListenAddresses[0]);
        string addresses = string.Join(", ", server.ListenAddresses);
        if (options.ProcessMode is { } mode)
        {
            Log.ListeningProcessMode(server._logger, addresses, registry.Default.Name, mode.Workers, mode.ThreadsPerWorker);
        }
        else
        {
            Log.Listening(server._logger, addresses, registry.Default.Name, options.Threads);
        }

        if (grpcListeners is not null)
        {
            ListenAddress grpc = grpcListeners.Bound[0];
            server.GrpcAddress = SelfClient.BaseAddress(grpc);
            Log.GrpcListening(server._logger, grpc.ToString());
        }

        if (registry.All.Count > 1)
        {
            foreach (ServedModel model in registry.All)
            {
                Log.Serving(server._logger, model.Name, model.Version, model == registry.Default ? " (default: /labelservice/)" : "");
            }
        }

        server._whenReady = server.WarmUpAsync();
        return server;
    }

    /// <summary>The CLI's entry: serve until SIGTERM / Ctrl-C, then drain and return the exit code.</summary>
    public static async Task<int> RunAsync(ServerOptions options, IReadOnlyList<ModelSource> models, LogLevel logLevel)
    {
        ArgumentNullException.ThrowIfNull(models);
        SharpserveServer server;
        try
        {
            server = await StartAsync(options, models, logging => ConfigureConsoleLogging(logging, logLevel));
        }
        catch (Exception ex) when (ex is ListenException or IOException)
        {
            // A listener that cannot be bound (ListenException) or an access log that cannot be opened (IOException).
            foreach (ModelSource model in models)
            {
                model.Model?.Dispose();
            }

            Console.Error.WriteLine($"sharpserve: error: {ex.Message}");
            return 1;
        }

        using SignalHandlers signals = SignalHandlers.Register(server);
        int exitCode = 0;
        try
        {
            await server.WhenReady;
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or ModelLoadException)
        {
            // A start-up failure is one line on stderr, without a stack trace; a pool's own refusal says it all.
            Log.WarmupFailed(server._logger, ex.Message);
            Console.Error.WriteLine(ex is WorkerPoolStartException ? $"sharpserve: error: {ex.Message}" : $"sharpserve: error: the server did not become ready: {ex.Message}");
            exitCode = 1;
            await server._app.StopAsync();
        }

        await server._app.WaitForShutdownAsync();
        await server.DisposeAsync();
        return exitCode;
    }

    public static void ConfigureConsoleLogging(ILoggingBuilder logging, LogLevel level)
    {
        logging.SetMinimumLevel(level);
        logging.AddFilter("Microsoft", level < LogLevel.Warning ? LogLevel.Warning : level);
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
            console.UseUtcTimestamp = true;
        });
    }

    /// <summary>Graceful stop: readiness false at once, Kestrel drains in-flight requests, then executors stop.</summary>
    public async Task StopAsync()
    {
        await _app.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _app.StopAsync();
        await _registry.DisposeAsync();
        foreach (ModelSource source in _sources.Values)
        {
            if (source.Resources is { } resources)
            {
                await resources.DisposeAsync(); // after the workers: a Python model's zygotes
            }
        }

        await _app.DisposeAsync();
        _listeners?.RemoveUnixSockets();
        if (_accessLog is not null)
        {
            await _accessLog.DisposeAsync();
        }

        Log.Stopped(_logger);
    }

    /// <summary>
    /// The gRPC listener, checked like the HTTP ones (a port in use is one line naming --grpc-port), or null when gRPC
    /// is off. It may not take a port an HTTP listener has: both would be checked free, and then one bind would fail.
    /// </summary>
    private static Listeners? CheckGrpc(ServerOptions options, Listeners http)
    {
        if (options.GrpcListen is not { } grpc)
        {
            return null;
        }

        foreach (ListenAddress address in http.Requested)
        {
            if (!address.IsUnix && grpc.Port != 0 && address.Port == grpc.Port)
            {
                throw new ListenException($"--grpc-port {grpc.Port} is also an HTTP port ({address}); give gRPC another port, or --grpc-port off");
            }
        }

        return Listeners.Check([grpc], "--grpc-port, or turn gRPC off with --grpc-port off");
    }

    private void MapEndpoints()
    {
        if (_grpcListeners is not null)
        {
            // First: a gRPC request skips the HTTP middleware (JSON errors, access log, HTTP metrics).
            // Counted by the shutdown drain and the unload's request epochs, as HTTP requests are.
            _app.Use(new GrpcRequestGate((context, run) => _drain.CountAsync(context, c => _epochs.CountAsync(c, run))).InvokeAsync);
            GrpcHosting.Map(_app);
        }

        var labelService = new LabelServiceEndpoint(_registry, _warmupGate);
        var oip = new OipEndpoints(_registry, _warmupGate);
        var middleware = new RequestMiddleware(
            _warmupGate, _requestMetrics, _warmupMetrics, _accessLog, _registry, _options.MaxRequestBodyBytes, _logger);
        _app.Use(middleware.InvokeAsync);
        _app.Use(_drain.InvokeAsync);
        _app.Use(_epochs.InvokeAsync);
        _app.MapPost("/labelservice/", labelService.PostAsync);
        // HEAD answers like GET without a body on every GET route: load balancers probe health with HEAD.
        string[] get = [HttpMethods.Get, HttpMethods.Head];
        _app.MapMethods("/labelservice/", get, labelService.GetAsync);
        _app.MapMethods("/v2/health/live", get, oip.LiveAsync);
        _app.MapMethods("/v2/health/ready", get, oip.ReadyAsync);
        _app.MapMethods("/v2", get, oip.ServerMetadataAsync);
        _app.MapMethods("/v2/models/{name}", get, oip.ModelMetadataAsync);
        _app.MapMethods("/v2/models/{name}/versions/{version}", get, oip.ModelMetadataAsync);
        _app.MapMethods("/v2/models/{name}/ready", get, oip.ModelReadyAsync);
        _app.MapMethods("/v2/models/{name}/versions/{version}/ready", get, oip.ModelReadyAsync);
        _app.MapPost("/v2/models/{name}/infer", oip.InferAsync);
        _app.MapPost("/v2/models/{name}/versions/{version}/infer", oip.InferAsync);
        var repository = new RepositoryEndpoints(_modelControl, _options.ModelControl);
        _app.MapPost("/v2/repository/index", repository.IndexAsync);
        _app.MapPost("/v2/repository/models/{name}/load", repository.LoadAsync);
        _app.MapPost("/v2/repository/models/{name}/unload", repository.UnloadAsync);
        _app.MapMethods("/status", get, new StatusEndpoint(_registry).GetAsync);
        _app.MapMethods("/metrics", get, new MetricsEndpoint(_registry, _requestMetrics, _drain).GetAsync);
    }

    private static partial class Log
    {
        [LoggerMessage(3001, LogLevel.Information, "Listening on {Addresses}, model '{Model}', {Threads} executor threads; warming up")]
        public static partial void Listening(ILogger logger, string addresses, string model, int threads);

        [LoggerMessage(3002, LogLevel.Information, "Ready after warm-up ({Requests} warm-up requests through HTTP{AndGrpc})")]
        public static partial void Ready(ILogger logger, int requests, string andGrpc);

        [LoggerMessage(3003, LogLevel.Critical, "Warm-up failed; the server never became ready and stops: {Reason}")]
        public static partial void WarmupFailed(ILogger logger, string reason);

        [LoggerMessage(3004, LogLevel.Information, "Stopping: readiness is false; requests received before the signal finish, new ones get 503")]
        public static partial void Stopping(ILogger logger);

        [LoggerMessage(3005, LogLevel.Information, "Stopped")]
        public static partial void Stopped(ILogger logger);

        [LoggerMessage(3007, LogLevel.Information, "Listening on {Addresses}, model '{Model}', {Workers} worker processes x {Threads} thread(s); warming up")]
        public static partial void ListeningProcessMode(ILogger logger, string addresses, string model, int workers, int threads);

        [LoggerMessage(3008, LogLevel.Information, "Reload requested")]
        public static partial void ReloadRequested(ILogger logger);

        [LoggerMessage(3009, LogLevel.Error, "Reload failed; the current workers keep serving")]
        public static partial void ReloadFailed(ILogger logger, Exception exception);

        [LoggerMessage(3013, LogLevel.Error, "Reload of model '{Model}' version {Version} refused: the new model's inputs or outputs differ ({Difference}); the current workers keep serving the old model. Serve the new model under another name or version, or restart")]
        public static partial void ReloadRefused(ILogger logger, string model, string version, string difference);

        [LoggerMessage(3010, LogLevel.Warning, "{Signal} ignored: it applies to process mode (--workers) only")]
        public static partial void SignalIgnored(ILogger logger, string signal);

        [LoggerMessage(3014, LogLevel.Information, "gRPC (KServe v2, inference.GRPCInferenceService) listening on {Address}, HTTP/2 only")]
        public static partial void GrpcListening(ILogger logger, string address);

        [LoggerMessage(3011, LogLevel.Information, "Serving model '{Model}' version {Version}{Default}")]
        public static partial void Serving(ILogger logger, string model, string version, string @default);

        [LoggerMessage(3012, LogLevel.Warning, "Warm-up request to model '{Model}' version {Version} answered {Status} {Error}: the model refuses the front's synthesised input (its workers warmed up with one they checked); serving it")]
        public static partial void WarmupRequestRefused(ILogger logger, string model, string version, int status, string error);

        [LoggerMessage(3015, LogLevel.Debug, "Warm-up of model '{Model}' version {Version} sends no more many-row requests: one answered {Answer}")]
        public static partial void WideWarmupRefused(ILogger logger, string model, string version, string answer);

    }
}
