using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>What a worker's connection tells its supervisor: who connected, that it is Ready, that it is gone.</summary>
internal interface IWorkerLifecycle
{
    /// <summary>The starting worker with this id and pid, now attached to <paramref name="connection"/>; null when there is none.</summary>
    Worker? TryAttach(int id, int pid, FrameConnection connection);

    void OnReady(Worker worker, long mappedModelBytes);

    /// <summary>The worker is gone (connection ended, process exited, or killed); called once per sign, acted on once.</summary>
    void OnLost(Worker worker, string reason);
}
