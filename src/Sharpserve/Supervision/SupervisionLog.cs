using Microsoft.Extensions.Logging;

namespace Sharpserve.Supervision;

/// <summary>Process mode's log messages, event ids 4000–4099.</summary>
internal static partial class SupervisionLog
{
    [LoggerMessage(4001, LogLevel.Information, "Worker {Id} spawned (pid {Pid}, generation {Generation})")]
    public static partial void Spawned(ILogger logger, int id, int pid, int generation);

    [LoggerMessage(4002, LogLevel.Information, "Worker {Id} (pid {Pid}) is ready; model image mapped ({MappedBytes} bytes)")]
    public static partial void WorkerReady(ILogger logger, int id, int pid, long mappedBytes);

    [LoggerMessage(4003, LogLevel.Warning, "Worker {Id} (pid {Pid}) lost: {Reason}; {Retried} in-flight request(s) retried on a sibling; next start in {BackoffMs} ms")]
    public static partial void WorkerLost(ILogger logger, int id, int pid, string reason, int retried, double backoffMs);

    [LoggerMessage(4004, LogLevel.Information, "Worker {Id} (pid {Pid}) exited")]
    public static partial void WorkerExited(ILogger logger, int id, int pid);

    [LoggerMessage(4005, LogLevel.Warning, "Killing worker {Id} (pid {Pid}): it {Reason}")]
    public static partial void Killing(ILogger logger, int id, int pid, string reason);

    [LoggerMessage(4006, LogLevel.Information, "Recycling worker {Id} (pid {Pid}): it {Reason}; its replacement starts first")]
    public static partial void Recycling(ILogger logger, int id, int pid, string reason);

    [LoggerMessage(4007, LogLevel.Information, "Worker {Id} (pid {Pid}) draining: {Reason}")]
    public static partial void Draining(ILogger logger, int id, int pid, string reason);

    [LoggerMessage(4008, LogLevel.Information, "Reloading: generation {Generation} of workers starts on {ImagePath}")]
    public static partial void Reloading(ILogger logger, int generation, string imagePath);

    [LoggerMessage(4009, LogLevel.Information, "Scaling workers from {From} to {To}")]
    public static partial void Scaling(ILogger logger, int from, int to);

    [LoggerMessage(4010, LogLevel.Information, "[worker {Id} pid {Pid}] {Line}")]
    public static partial void WorkerOutput(ILogger logger, int id, int pid, string line);

    [LoggerMessage(4011, LogLevel.Warning, "Refused a worker connection: {Reason}")]
    public static partial void BadHandshake(ILogger logger, string reason);

    [LoggerMessage(4012, LogLevel.Warning, "Requests still in flight after --graceful-timeout ({Timeout}); stopping workers anyway")]
    public static partial void DrainTimedOut(ILogger logger, TimeSpan timeout);

    [LoggerMessage(4013, LogLevel.Information, "All workers stopped")]
    public static partial void Stopped(ILogger logger);


    [LoggerMessage(4015, LogLevel.Information, "Worker {Id} (pid {Pid}) killed: {Reason}")]
    public static partial void Retired(ILogger logger, int id, int pid, string reason);
}
