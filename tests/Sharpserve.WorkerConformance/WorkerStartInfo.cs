namespace Sharpserve.WorkerConformance;

/// <summary>
/// What a launcher needs to start one worker: the front's socket to connect to, the id its Hello must carry, the
/// model to serve, and a private scratch folder (deleted after the test) for anything the worker writes, such as a
/// model cache.
/// </summary>
public sealed record WorkerStartInfo(string SocketPath, int WorkerId, ConformanceModel Model, string ScratchDirectory);
