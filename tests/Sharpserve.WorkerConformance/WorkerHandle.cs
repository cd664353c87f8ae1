namespace Sharpserve.WorkerConformance;

/// <summary>
/// A worker the suite started, however it was started: its pid (which its Hello must carry), whether and how it
/// ended, and what it printed, for failure messages. Disposing it kills the worker if it still runs.
/// </summary>
public abstract class WorkerHandle : IDisposable
{
    /// <summary>The pid of the worker process itself (the process that connects and says Hello).</summary>
    public abstract int Pid { get; }

    public abstract bool HasExited { get; }

    /// <summary>The exit status; valid once <see cref="HasExited"/>.</summary>
    public abstract int ExitCode { get; }

    /// <summary>What the worker wrote to its standard output and error so far.</summary>
    public abstract string Output { get; }

    /// <summary>Waits until the worker has exited, at most <paramref name="bound"/>; false if it still runs then.</summary>
    public abstract Task<bool> WaitForExitAsync(TimeSpan bound);

    /// <summary>Kills the worker (by its own pid, never by name) if it still runs, and waits for it.</summary>
    public abstract void Kill();

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing && !HasExited)
        {
            Kill();
        }
    }
}
