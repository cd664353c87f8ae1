using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Supervision;

namespace Sharpserve.Python;

/// <summary>
/// One load of a Python model's code: its zygote (started again, with backoff, when it dies while the generation is
/// served) and how many of its workers are alive. Retired by a reload onto a newer generation; its zygote is then
/// stopped once its last worker has exited.
/// </summary>
internal sealed class ZygoteGeneration(int number, string token, PythonZygote zygote, ZygoteEvent loaded, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly RestartBackoff _backoff = new(TimeProvider.System);
    private PythonZygote _zygote = zygote;
    private int _liveWorkers;
    private int _restarts;
    private bool _retired;
    private Task? _stopped;

    public int Number { get; } = number;

    public string Token { get; } = token;

    public ZygoteEvent Loaded { get; } = loaded;

    /// <summary>Forks a worker; once it has exited, a retired generation with no worker left stops its zygote.</summary>
    public IWorkerHandle Fork(int id, string socketPath, ZygoteLauncher launcher)
    {
        PythonZygote zygote;
        lock (_lock)
        {
            zygote = _zygote;
        }

        IWorkerHandle handle = zygote.Fork(id, socketPath);
        if (handle.Pid != 0)
        {
            Interlocked.Increment(ref _liveWorkers);
            _ = handle.Exited.ContinueWith(
                _ =>
                {
                    Interlocked.Decrement(ref _liveWorkers);
                    return StopIfIdleAsync(launcher);
                },
                TaskScheduler.Default);
        }

        return handle;
    }

    public void Retire()
    {
        lock (_lock)
        {
            _retired = true;
        }
    }

    /// <summary>A retired generation whose workers are all gone stops its zygote.</summary>
    public Task StopIfIdleAsync(ZygoteLauncher launcher)
    {
        lock (_lock)
        {
            if (!_retired || Volatile.Read(ref _liveWorkers) > 0 || _stopped is not null)
            {
                return Task.CompletedTask;
            }
        }

        PythonLog.Retired(logger, _zygote.Pid, Number);
        launcher.Forget(this);
        return StopAsync();
    }

    public Task StopAsync()
    {
        lock (_lock)
        {
            _retired = true;
            return _stopped ??= _zygote.StopAsync();
        }
    }

    /// <summary>Starts the zygote again whenever it dies while this generation is served.</summary>
    public void WatchZygote(ZygoteLauncher launcher) => _ = WatchAsync(launcher);

    public ZygoteStatus Status()
    {
        PythonZygote zygote;
        bool retired;
        lock (_lock)
        {
            zygote = _zygote;
            retired = _retired;
        }

        ProcessMemory memory = zygote.Exited.IsCompleted ? default : ProcessMemory.Read(zygote.Pid);
        string state = zygote.IsServing ? (retired ? "retiring" : "serving") : zygote.Exited.IsCompleted ? "restarting" : "loading";
        return new ZygoteStatus(
            Number, zygote.Pid, state, Volatile.Read(ref _liveWorkers), Volatile.Read(ref _restarts),
            memory.RssBytes, memory.PssBytes, memory.PrivateDirtyBytes);
    }

    private async Task WatchAsync(ZygoteLauncher launcher)
    {
        while (true)
        {
            PythonZygote current;
            lock (_lock)
            {
                current = _zygote;
            }

            string reason = await current.Exited.ConfigureAwait(false);
            lock (_lock)
            {
                if (_retired || launcher.IsStopping || _stopped is not null)
                {
                    return;
                }
            }

            Interlocked.Increment(ref _restarts);
            double backoffMs = _backoff.Failed();
            PythonLog.Lost(logger, current.Pid, reason, backoffMs);
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(backoffMs)).ConfigureAwait(false);
                if (launcher.IsStopping || _retired)
                {
                    return;
                }

                try
                {
                    PythonZygote next = PythonZygote.Start(launcher.Entry, logger);
                    PythonLog.Started(logger, next.Pid, launcher.Entry.Entry, Number);
                    ZygoteEvent loaded = await next.Loaded.ConfigureAwait(false);
                    launcher.LogLoaded(next, loaded);
                    lock (_lock)
                    {
                        if (_retired || launcher.IsStopping)
                        {
                            _ = next.StopAsync(); // stopped while it loaded
                            return;
                        }

                        _zygote = next;
                    }

                    _backoff.Succeeded();
                    break;
                }
                catch (ModelLoadException e)
                {
                    backoffMs = _backoff.Failed();
                    PythonLog.RestartFailed(logger, e.Message, backoffMs);
                }
            }
        }
    }
}
