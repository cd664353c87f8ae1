using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// Stopping workers at shutdown: each is told to finish what it holds and exit (one still starting is killed: it
/// holds nothing, and would read Shutdown only after loading its model); each gets 10 s to exit, then is killed.
/// </summary>
internal static class WorkerShutdown
{
    private static readonly TimeSpan s_exitGrace = TimeSpan.FromSeconds(10);

    public static async Task StopAllAsync(IReadOnlyList<Worker> workers)
    {
        foreach (Worker worker in workers)
        {
            if (worker.State == WorkerState.Starting || !worker.TrySend(OutgoingFrame.Empty(FrameType.Shutdown, 0)))
            {
                worker.Handle.Kill();
            }
            else
            {
                worker.Connection!.CompleteSending();
            }
        }

        var exits = new Task[workers.Count];
        for (int i = 0; i < exits.Length; i++)
        {
            exits[i] = KillUnlessExitedAsync(workers[i].Handle, TimeProvider.System);
        }

        await Task.WhenAll(exits);
    }

    /// <summary>
    /// A worker that was told to exit is on its way out: it gets the grace to exit by itself (so its own exit status
    /// is what the handle reports), then is killed; completes once it has exited.
    /// </summary>
    public static async Task KillUnlessExitedAsync(IWorkerHandle handle, TimeProvider time)
    {
        try
        {
            await handle.Exited.WaitAsync(s_exitGrace, time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            handle.Kill();
            await handle.Exited.ConfigureAwait(false);
        }
    }
}
