namespace Sharpserve.Supervision;

/// <summary>Lifecycle of one worker process: Starting → Ready → (Draining →) Stopped.</summary>
public enum WorkerState
{
    /// <summary>Spawned; not yet connected, mapped and warm.</summary>
    Starting,

    /// <summary>Takes requests.</summary>
    Ready,

    /// <summary>Takes no new requests; finishes its in-flight ones, then gets Shutdown.</summary>
    Draining,

    /// <summary>Exited or killed.</summary>
    Stopped,
}
