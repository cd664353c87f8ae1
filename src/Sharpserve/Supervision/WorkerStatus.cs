namespace Sharpserve.Supervision;

/// <summary>
/// One row of the status view. Memory is read from smaps_rollup when the row is made;
/// <see cref="PrivateDirtyGrowthBytes"/> is what <c>--max-worker-memory</c> counts (0 until the worker is Ready).
/// </summary>
public sealed record WorkerStatus(
    int Id,
    int Pid,
    WorkerState State,
    int Generation,
    long RequestsServed,
    int InFlight,
    long AnonymousBytes,
    long MappedModelBytes,
    long PssBytes,
    long PrivateDirtyBytes,
    long PrivateDirtyGrowthBytes,
    long SharedBytes = 0);
