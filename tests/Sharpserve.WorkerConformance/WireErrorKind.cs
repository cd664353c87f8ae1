namespace Sharpserve.WorkerConformance;

/// <summary>The kind byte of an Error frame, as docs/worker-protocol.md numbers it.</summary>
public enum WireErrorKind : byte
{
    BadInput = 0,
    ModelNotFound = 1,
    ModelNotReady = 2,
    QueueFull = 3,
    DeadlineExceeded = 4,
    ShuttingDown = 5,
    BackendFailed = 6,
    WorkerCrashed = 7,
}
