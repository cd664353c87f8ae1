namespace Sharpserve.WorkerConformance;

/// <summary>
/// Frame types as docs/worker-protocol.md numbers them, written out here rather than taken from Sharpserve.Ipc, so
/// the suite checks the specification and not our codec agreeing with itself.
/// </summary>
public enum WireFrameType : byte
{
    Hello = 1,
    Ready = 2,
    Infer = 3,
    Result = 4,
    Error = 5,
    Ping = 6,
    Pong = 7,
    Drain = 8,
    Shutdown = 9,
}
