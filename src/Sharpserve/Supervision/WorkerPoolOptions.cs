namespace Sharpserve.Supervision;

/// <summary>Process mode's settings, parsed and validated once at start.</summary>
public sealed record WorkerPoolOptions
{
    /// <summary>Worker processes to keep Ready.</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Executor threads inside each worker.</summary>
    public int ThreadsPerWorker { get; init; } = 1;

    /// <summary>A worker silent this long (no Pong) or stuck this long on one request is killed and replaced.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often heartbeats are sent and deadlines, memory and recycling are checked.</summary>
    public TimeSpan HeartbeatPeriod { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Recycle a worker after this many requests (0: never), plus a random 0..jitter so workers do not recycle together.</summary>
    public long MaxRequests { get; init; }

    public long MaxRequestsJitter { get; init; }

    /// <summary>
    /// Recycle a worker whose private memory (Private_Dirty: its heap, not the shared mapped model) grew more than
    /// this since it was Ready (0: never), see <see cref="WorkerMemoryBudget"/>.
    /// </summary>
    public long MaxWorkerMemoryBytes { get; init; }

    /// <summary>
    /// The smallest budget the command line takes: a healthy worker's heap moves by a few MiB as it serves (the GC
    /// sizing its heaps, the JIT), and a budget within that would recycle workers that do not leak.
    /// </summary>
    public const long MinWorkerMemoryBytes = 8L << 20;

    /// <summary>How long a draining worker may take to finish its requests before it is killed.</summary>
    public TimeSpan GracefulTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests in flight at one worker; the rest wait in the front's queue, where deadlines and limits apply.</summary>
    public int MaxInFlightPerWorker { get; init; } = 32;

    /// <summary>How workers are started; null: this executable's <c>worker</c> command (<see cref="WorkerLauncher"/>).</summary>
    public IWorkerLauncher? Launcher { get; init; }

    /// <summary>Backend settings every worker gets explicitly, in its arguments (name=value).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WorkerSettings { get; init; } = [];
}
