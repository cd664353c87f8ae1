namespace Sharpserve.Supervision;

/// <summary>One row of the status view.</summary>
public sealed record WorkerStatus(
    int Id,
    int Pid,
    WorkerState State,
    int Generation,
    long RequestsServed,
    int InFlight,
    long AnonymousBytes,
    long MappedModelBytes,
    long PssBytes);
