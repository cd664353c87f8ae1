using Microsoft.Extensions.Logging;

namespace Sharpserve.Python;

/// <summary>The Python backend's log messages, event ids 4100–4149.</summary>
internal static partial class PythonLog
{
    [LoggerMessage(4100, LogLevel.Information, "[python pid {Pid}] {Line}")]
    public static partial void Output(ILogger logger, int pid, string line);

    [LoggerMessage(4101, LogLevel.Error, "Python zygote (pid {Pid}) failed to load the model:\n{Traceback}")]
    public static partial void Traceback(ILogger logger, int pid, string traceback);

    [LoggerMessage(4102, LogLevel.Information, "Python zygote (pid {Pid}) loaded {Entry} in {LoadSeconds:0.###} s, warmed up in {WarmupSeconds:0.###} s; {PrivateDirtyMiB} MiB private, frozen; it forks the workers")]
    public static partial void Loaded(ILogger logger, int pid, string entry, double loadSeconds, double warmupSeconds, long privateDirtyMiB);

    [LoggerMessage(4103, LogLevel.Information, "Python zygote (pid {Pid}) started for {Entry} (generation {Generation})")]
    public static partial void Started(ILogger logger, int pid, string entry, int generation);

    [LoggerMessage(4104, LogLevel.Warning, "Python zygote (pid {Pid}) lost: {Reason}; its workers keep serving; next start in {BackoffMs} ms")]
    public static partial void Lost(ILogger logger, int pid, string reason, double backoffMs);

    [LoggerMessage(4105, LogLevel.Information, "Python zygote (pid {Pid}) of generation {Generation} stopped: its workers are gone")]
    public static partial void Retired(ILogger logger, int pid, int generation);

    [LoggerMessage(4106, LogLevel.Error, "Python zygote could not be started again: {Reason}; next try in {BackoffMs} ms")]
    public static partial void RestartFailed(ILogger logger, string reason, double backoffMs);
}
