using Sharpserve.Core.Batching;
using Sharpserve.Core.Scheduling;
using Sharpserve.Http;
using Sharpserve.Supervision;

namespace Sharpserve.Hosting;

/// <summary>Everything <c>sharpserve serve</c> needs, parsed and validated once at start.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind when <see cref="Listen"/> is empty. Loopback unless the operator says otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port when <see cref="Listen"/> is empty; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = ListenAddress.DefaultPort;

    /// <summary>Where to listen (<c>--bind</c>, repeatable); empty means <see cref="Host"/>:<see cref="Port"/>.</summary>
    public IReadOnlyList<ListenAddress> Listen { get; init; } = [];

    /// <summary>Executor threads per model; defaults to the core count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1L << 20;

    /// <summary>How long SIGTERM waits for in-flight requests before exiting.</summary>
    public TimeSpan GracefulTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Rounds of warm-up requests sent through the HTTP path of each endpoint before ready.</summary>
    public int HttpWarmupRounds { get; init; } = 40;

    /// <summary>One line per request to a file or standard output; null (the default) writes none.</summary>
    public AccessLogOptions? AccessLog { get; init; }

    /// <summary>Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (<c>--forwarded-allow-ips</c>).</summary>
    public TrustedProxies ForwardedAllowIps { get; init; } = TrustedProxies.Loopback;

    /// <summary>
    /// Where the KServe v2 gRPC service listens (HTTP/2 only, <c>--grpc-port</c>); null (the default here; the CLI's
    /// default is port 8001 on the HTTP host) serves no gRPC. Its largest message is <see cref="MaxRequestBodyBytes"/>.
    /// </summary>
    public ListenAddress? GrpcListen { get; init; }

    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>
    /// Dynamic batching of thread-mode models (<c>--max-batch-size</c>, <c>--batch-delay</c>); a model's own
    /// (<see cref="ModelSource.Batching"/>, from a repository's config.json) wins. Off by default.
    /// </summary>
    public BatchingOptions Batching { get; init; } = BatchingOptions.Off;

    /// <summary>Process mode's settings; null runs thread mode (executor threads in this process).</summary>
    public WorkerPoolOptions? ProcessMode { get; init; }

    /// <summary>The repository API's settings (load and unload, the admin token, the model memory limit).</summary>
    internal ModelControlOptions ModelControl { get; init; } = new();

    /// <summary>The addresses to listen on: <see cref="Listen"/>, or <see cref="Host"/>:<see cref="Port"/>.</summary>
    public IReadOnlyList<ListenAddress> Listeners =>
        Listen.Count > 0 ? Listen
        : ListenAddress.TryFromHost(Host, Port, out ListenAddress? listen, out string? error) ? [listen!]
        : throw new ArgumentException($"host {error}", nameof(Host));
}
