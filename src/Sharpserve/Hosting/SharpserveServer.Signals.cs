using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;

namespace Sharpserve.Hosting;

/// <summary>What the signals ask of a running server: reload (SIGHUP), scale (SIGTTIN/SIGTTOU), reopen the logs (SIGUSR1), and the start of a graceful stop.</summary>
public sealed partial class SharpserveServer
{
    /// <summary>Process mode: rebuild each model's image if its source changed and roll a new set of workers onto it.</summary>
    public void Reload()
    {
        Log.ReloadRequested(_logger);
        _ = Task.Run(() =>
        {
            try
            {
                foreach (ServedModel model in _registry.All)
                {
                    if (model.Executor is IReloadable pool && _sources.TryGetValue(model, out ModelSource? source))
                    {
                        string prepared = source.PrepareAgain?.Invoke() ?? pool.ModelPath;
                        if (ReloadCheck.Difference(model, prepared, source.DescribePrepared) is { } difference)
                        {
                            Log.ReloadRefused(_logger, model.Name, model.Version, difference);
                            source.Discard?.Invoke(prepared);
                            continue;
                        }

                        pool.Reload(prepared);
                    }
                    else
                    {
                        Log.SignalIgnored(_logger, "SIGHUP");
                    }
                }
            }
            catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException)
            {
                Log.ReloadFailed(_logger, ex);
            }
        });
    }

    /// <summary>Process mode: one more (+1) or one fewer (-1) worker per model.</summary>
    public void Scale(int delta)
    {
        foreach (ServedModel model in _registry.All)
        {
            if (model.Executor is IScalable pool)
            {
                pool.Scale(delta);
            }
            else
            {
                Log.SignalIgnored(_logger, delta > 0 ? "SIGTTIN" : "SIGTTOU");
            }
        }
    }

    private void OnStopping()
    {
        Log.Stopping(_logger);
        foreach (ServedModel model in _registry.All)
        {
            model.MarkNotReady();
        }
    }

    /// <summary>Reopens the access log (SIGUSR1, after a log rotation moved it).</summary>
    public void ReopenLogs() => _accessLog?.Reopen();
}
