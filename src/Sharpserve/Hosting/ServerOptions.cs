using Sharpserve.Core.Scheduling;
using Sharpserve.Supervision;

namespace Sharpserve.Hosting;

/// <summary>Everything <c>sharpserve serve</c> needs, parsed and validated once at start.</summary>
public sealed record ServerOptions
{
    /// <summary>Address to bind. Loopback unless the operator says otherwise.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>Executor threads per model; defaults to the core count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    public long MaxRequestBodyBytes { get; init; } = 1L << 20;

    /// <summary>How long SIGTERM waits for in-flight requests before exiting.</summary>
    public TimeSpan GracefulTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Rounds of warm-up requests sent through the HTTP path of each endpoint before ready.</summary>
    public int HttpWarmupRounds { get; init; } = 40;

    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>Process mode's settings; null runs thread mode (executor threads in this process).</summary>
    public WorkerPoolOptions? ProcessMode { get; init; }
}
