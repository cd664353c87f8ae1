using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// One periodic pass over every worker of a supervisor, on the injected <see cref="TimeProvider"/>: Pings, silence
/// and stuck-request timeouts (judged from what arrives, <see cref="WorkerProgress"/>), start timeouts, memory and
/// request-count recycling, Shutdown to drained workers, and starting workers up to the target with backoff. One
/// timer for all workers, none per request. Decisions are carried out by the supervisor, which owns the state.
/// </summary>
internal sealed class WorkerHeartbeat(WorkerSupervisor supervisor, WorkerPoolOptions options, TimeProvider time)
{
    private ulong _pingId;

    public async Task RunAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.HeartbeatPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                CheckWorkers();
                if (!supervisor.IsStopping)
                {
                    supervisor.SpawnMissing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CheckWorkers()
    {
        long now = time.GetTimestamp();
        long timeout = Ticks(options.Timeout);
        foreach (Worker worker in supervisor.Workers)
        {
            switch (worker.State)
            {
                case WorkerState.Starting:
                    if (now - worker.SpawnTimestamp > Ticks(TimeSpan.FromSeconds(Math.Max(options.Timeout.TotalSeconds, 120))))
                    {
                        supervisor.Kill(worker, "did not become ready in time");
                    }

                    break;
                case WorkerState.Ready:
                case WorkerState.Draining:
                    CheckRunning(worker, now, timeout);
                    break;
            }
        }
    }

    private void CheckRunning(Worker worker, long now, long timeout)
    {
        if (worker.HasUnreadBytes())
        {
            // The worker has written and the front has not read yet (its threads are busy, e.g. writing large JSON
            // answers): that is the front's delay, not the worker's silence.
            worker.Progress.Heard(now, answer: true);
        }

        // A worker with requests is judged by them (a one-thread worker predicts on its I/O loop and answers Pings
        // after the predict); an idle one by its Pongs.
        (ulong oldestId, long oldestSent) = worker.InFlight.Oldest();
        if (oldestId == 0 && worker.Progress.IsSilent(now, timeout))
        {
            supervisor.Kill(worker, $"was silent for more than {options.Timeout.TotalSeconds:0.###} s (--timeout)");
            return;
        }

        if (worker.Progress.IsStuck(now, timeout, oldestId, oldestSent))
        {
            supervisor.Kill(worker, $"was stuck on a request for more than {options.Timeout.TotalSeconds:0.###} s (--timeout)");
            return;
        }

        worker.Memory = ProcessMemory.Read(worker.Pid);
        if (worker.State == WorkerState.Ready)
        {
            string? reason = worker.MaxRequests > 0 && worker.Served >= worker.MaxRequests
                ? $"served {worker.Served} requests (--max-requests)"
                : WorkerMemoryBudget.Exceeded(options.MaxWorkerMemoryBytes, worker.Memory, worker.MemoryAtReady);
            if (reason is not null)
            {
                supervisor.Recycle(worker, reason);
            }
        }
        else if (worker.InFlight.IsEmpty && !worker.ShutdownSent)
        {
            supervisor.SendShutdown(worker);
            return;
        }
        else if (now - worker.DrainTimestamp > Ticks(options.GracefulTimeout))
        {
            supervisor.Kill(worker, "did not finish draining within --graceful-timeout");
            return;
        }

        if (!worker.ShutdownSent)
        {
            worker.TrySend(OutgoingFrame.Empty(FrameType.Ping, Interlocked.Increment(ref _pingId)));
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
