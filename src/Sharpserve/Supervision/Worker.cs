using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// The front's record of one worker: who it is (id, generation, process handle), its connection once it said Hello,
/// its lifecycle state, the requests it holds, and what the heartbeat measures of it. <see cref="State"/> and the
/// recycling marks change only through <see cref="WorkerSupervisor"/>, under its lock; counters and progress are
/// updated lock-free by the connection and the executor.
/// </summary>
internal sealed class Worker(int id, int generation, IWorkerHandle handle, long spawnTimestamp, long maxRequests, IReadOnlyCollection<string> modelFiles)
{
    private int _state = (int)WorkerState.Starting;
    private int _lost;
    private long _served;

    public int Id { get; } = id;

    public int Generation { get; } = generation;

    public IWorkerHandle Handle { get; } = handle;

    public int Pid => Handle.Pid;

    public WorkerState State
    {
        get => (WorkerState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value); // WorkerSupervisor only, under its lock
    }

    /// <summary>Marked for replacement (max requests, memory, reload): serves until its replacement is Ready.</summary>
    public bool Recycling { get; set; }

    public bool ShutdownSent { get; set; }

    public long SpawnTimestamp { get; } = spawnTimestamp;

    public long DrainTimestamp { get; set; }

    /// <summary>Requests after which this worker is recycled (jitter applied); 0 for never.</summary>
    public long MaxRequests { get; } = maxRequests;

    /// <summary>The files of the model it maps (for /status's mapped model bytes).</summary>
    public IReadOnlyCollection<string> ModelFiles { get; } = modelFiles;

    /// <summary>Set when its Hello was accepted; frames go through it from then on.</summary>
    public FrameConnection? Connection { get; set; }

    public WorkerProgress Progress { get; } = new();

    public InFlightTable InFlight { get; } = new();

    public ProcessMemory Memory { get; set; }

    /// <summary>Memory when it said Ready, before any request: the baseline of <see cref="WorkerMemoryBudget"/>.</summary>
    public ProcessMemory? MemoryAtReady { get; set; }

    /// <summary>What it said in Ready: bytes of the model it mapped.</summary>
    public long MappedModelBytes { get; set; }

    public long Served => Interlocked.Read(ref _served);

    public bool IsLost => Volatile.Read(ref _lost) == 1;

    /// <summary>Counts an answered request; returns the new count.</summary>
    public long CountServed() => Interlocked.Increment(ref _served);

    /// <summary>True for the first caller only: a worker is declared lost once, however many signs of death arrive.</summary>
    public bool TryMarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;

    /// <summary>Queues a frame for its connection; false when it has none yet, is lost, or the connection refused it.</summary>
    public bool TrySend(in OutgoingFrame frame) => Connection is { } connection && !IsLost && connection.TrySend(frame);

    /// <summary>Bytes the worker sent that the front has not read yet: it is alive, the front is behind.</summary>
    public bool HasUnreadBytes()
    {
        try
        {
            return Connection is { } connection && connection.Socket.Available > 0;
        }
        catch (Exception e) when (e is ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }
}

/// <summary>A request handed to a worker and not yet answered: the work item, when it was sent, and its attempt (1, or 2 for the retry on a sibling).</summary>
internal readonly record struct InFlightRequest(Core.Scheduling.InferenceWorkItem Item, long SentTimestamp, int Attempt);
