namespace Sharpserve.Supervision;

/// <summary>
/// The front's hold on one worker's process: its pid, its exit, and a way to kill it. Implemented for processes the
/// front spawns (<see cref="SpawnedWorker"/>); shaped so that a worker that is not the front's child (forked by a
/// Python zygote) can be added: matched by the id the front gave it, its pid checked against the connection's
/// peer credentials (SO_PEERCRED), watched and killed through a pidfd rather than a pid that may be reused.
/// </summary>
public interface IWorkerHandle : IDisposable
{
    /// <summary>The worker's process id, as the kernel reports the connection's peer.</summary>
    int Pid { get; }

    /// <summary>Completes once the process has exited, with how ("exited with code 3", "was killed by signal 9").</summary>
    Task<string> Exited { get; }

    /// <summary>Kills the process now (SIGKILL); no-op once it has exited.</summary>
    void Kill();
}
