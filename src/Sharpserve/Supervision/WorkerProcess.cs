using System.Diagnostics;
using System.IO.Pipelines;
using System.Threading.Channels;
using Sharpserve.Abstractions;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>The front's view of one worker process: its process handle, connection, state and in-flight requests.</summary>
internal sealed class WorkerProcess(int id, int generation, Process process, long spawnTimestamp, long maxRequests)
{
    private int _state = (int)WorkerState.Starting;
    private int _lost;
    private long _served;

    public int Id { get; } = id;

    public int Generation { get; } = generation;

    public Process Process { get; } = process;

    public int Pid { get; } = process.Id;

    public WorkerState State
    {
        get => (WorkerState)Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, (int)value);
    }

    /// <summary>Marked for replacement (max requests, memory, reload): serves until its replacement is Ready.</summary>
    public bool Recycling { get; set; }

    public long SpawnTimestamp { get; } = spawnTimestamp;

    public long DrainTimestamp { get; set; }

    /// <summary>What the front has received from the worker lately: silence and stuck checks.</summary>
    public WorkerProgress Progress { get; } = new();

    /// <summary>Requests after which this worker is recycled (jitter applied); 0 for never.</summary>
    public long MaxRequests { get; } = maxRequests;

    public long Served => Interlocked.Read(ref _served);

    public bool ShutdownSent { get; set; }

    public ProcessMemory Memory { get; set; }

    /// <summary>Memory when the worker said Ready, before any request: the baseline of <see cref="WorkerMemoryBudget"/>.</summary>
    public ProcessMemory? MemoryAtReady { get; set; }

    public long MappedModelBytes { get; set; }

    /// <summary>The files of the model this worker serves (its generation's image), whose mappings /status reports.</summary>
    public IReadOnlyCollection<string> ModelFiles { get; init; } = [];

    /// <summary>The worker's connection, set with <see cref="Writer"/>; the heartbeat asks it for unread bytes.</summary>
    public System.Net.Sockets.Socket? Connection { get; set; }

    /// <summary>Bytes the worker sent that the front has not read yet: it is alive, the front is behind.</summary>
    public bool HasUnreadBytes()
    {
        try
        {
            return Connection is { } connection && connection.Available > 0;
        }
        catch (Exception e) when (e is ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Set once the worker's Hello arrives; frames are then written by its writer loop only.</summary>
    public PipeWriter? Writer { get; set; }

    /// <summary>Frames waiting for the writer loop, which drains them all and flushes once.</summary>
    public Channel<OutgoingFrame> Outgoing { get; } =
        Channel.CreateUnbounded<OutgoingFrame>(new UnboundedChannelOptions { SingleReader = true });

    public InFlightTable InFlight { get; } = new();

    public void CountServed() => Interlocked.Increment(ref _served);

    /// <summary>True for the first caller only: a worker is declared lost once, however many signs of death arrive.</summary>
    public bool TryMarkLost() => Interlocked.Exchange(ref _lost, 1) == 0;

    public bool IsLost => Volatile.Read(ref _lost) == 1;


    public void TryKill()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}

/// <summary>A frame for a worker: Infer (with its request), Ping or Shutdown.</summary>
internal readonly record struct OutgoingFrame(FrameType Type, ulong RequestId, InferenceRequest? Request);

/// <summary>A request handed to a worker and not yet answered.</summary>
internal readonly record struct InFlightRequest(InferenceWorkItem Item, long SentTimestamp);
