using Microsoft.Extensions.Logging;

namespace Sharpserve.Supervision;

/// <summary>
/// Starts one worker for a supervisor: gives it the next id and its own --max-requests (with jitter, so workers do
/// not recycle together), launches it with every setting it needs, and relays its output lines to the log.
/// </summary>
internal sealed class WorkerStarter(IWorkerLauncher launcher, WorkerPoolOptions options, string socketPath, string modelName, ILogger logger, TimeProvider time)
{
    private int _nextId;

    public Worker Start(string modelPath, int generation)
    {
        int id = Interlocked.Increment(ref _nextId);
        long maxRequests = options.MaxRequests <= 0
            ? 0
            : options.MaxRequests + (options.MaxRequestsJitter > 0 ? Random.Shared.NextInt64(options.MaxRequestsJitter + 1) : 0);
        int pid = 0;
        IWorkerHandle handle = launcher.Launch(
            new WorkerLaunch(id, socketPath, modelPath, modelName, options.ThreadsPerWorker, options.WorkerSettings),
            line => SupervisionLog.WorkerOutput(logger, id, Volatile.Read(ref pid), line));
        Volatile.Write(ref pid, handle.Pid);
        SupervisionLog.Spawned(logger, id, handle.Pid, generation);
        return new Worker(id, generation, handle, time.GetTimestamp(), maxRequests, ModelMappings.FilesOf(modelPath));
    }
}
