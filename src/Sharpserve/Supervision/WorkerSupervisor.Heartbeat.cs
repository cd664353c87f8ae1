using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

internal sealed partial class WorkerSupervisor
{
    /// <summary>At the latest this long after the first worker is Ready, the others start (see Start).</summary>
    private static readonly TimeSpan s_remainingStartDelay = TimeSpan.FromSeconds(2);

    private ulong _pingId;

    /// <summary>
    /// One periodic pass over every worker, on the injected <see cref="TimeProvider"/>: heartbeats, silence and
    /// stuck-request timeouts, start timeouts, memory and request-count recycling, draining, and starting workers
    /// up to the target with backoff. One timer for all workers, none per request.
    /// </summary>
    private async Task HeartbeatLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.HeartbeatPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                CheckWorkers();
                if (!_stopping)
                {
                    SpawnMissing();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CheckWorkers()
    {
        long now = _time.GetTimestamp();
        long timeout = Ticks(_options.Timeout);
        foreach (Worker worker in _snapshot)
        {
            switch (worker.State)
            {
                case WorkerState.Starting:
                    if (now - worker.SpawnTimestamp > Ticks(TimeSpan.FromSeconds(Math.Max(_options.Timeout.TotalSeconds, 120))))
                    {
                        Kill(worker, "did not become ready in time");
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
            Kill(worker, $"was silent for more than {_options.Timeout.TotalSeconds:0.###} s (--timeout)");
            return;
        }

        if (worker.Progress.IsStuck(now, timeout, oldestId, oldestSent))
        {
            Kill(worker, $"was stuck on a request for more than {_options.Timeout.TotalSeconds:0.###} s (--timeout)");
            return;
        }

        worker.Memory = ProcessMemory.Read(worker.Pid);
        if (worker.State == WorkerState.Ready)
        {
            if (RecycleReason(worker) is { } reason)
            {
                Recycle(worker, reason);
            }
        }
        else if (worker.InFlight.IsEmpty && !worker.ShutdownSent)
        {
            lock (_lock)
            {
                worker.ShutdownSent = true;
            }

            worker.TrySend(OutgoingFrame.Empty(FrameType.Shutdown, 0));
            worker.Connection?.CompleteSending();
            return;
        }
        else if (now - worker.DrainTimestamp > Ticks(_options.GracefulTimeout))
        {
            Kill(worker, "did not finish draining within --graceful-timeout");
            return;
        }

        if (!worker.ShutdownSent)
        {
            worker.TrySend(OutgoingFrame.Empty(FrameType.Ping, Interlocked.Increment(ref _pingId)));
        }
    }

    /// <summary>Why a Ready worker is due for replacement, or null: its request count, or its memory.</summary>
    private string? RecycleReason(Worker worker)
    {
        if (worker.MaxRequests > 0 && worker.Served >= worker.MaxRequests)
        {
            return $"served {worker.Served} requests (--max-requests)";
        }

        long budget = _options.MaxWorkerMemoryBytes;
        if (budget > 0 && worker.ReadyAnonymousBytes <= budget && worker.Memory.AnonymousBytes > budget)
        {
            return $"uses {worker.Memory.AnonymousBytes / (1 << 20)} MiB of anonymous memory (--max-worker-memory)";
        }

        return null;
    }

    /// <summary>
    /// Measures a worker as it turns Ready, before any request, against --max-worker-memory. A budget that the first
    /// worker already exceeds can never be met (every replacement is as big): the start fails with a message naming
    /// the budget and the size, and false is returned. A later worker over it (e.g. after a reload onto a bigger
    /// model) serves, is not recycled for memory, and is logged. Under the lock.
    /// </summary>
    private bool CheckFreshSize(Worker worker)
    {
        worker.Memory = ProcessMemory.Read(worker.Pid);
        worker.ReadyAnonymousBytes = worker.Memory.AnonymousBytes;
        long budget = _options.MaxWorkerMemoryBytes;
        if (budget <= 0 || worker.ReadyAnonymousBytes <= budget)
        {
            return true;
        }

        long sizeMiB = (worker.ReadyAnonymousBytes + (1 << 20) - 1) >> 20;
        if (!_firstWarm.Task.IsCompleted)
        {
            _firstWarm.TrySetException(new WorkerPoolStartException(
                $"--max-worker-memory {budget >> 20} MiB is below what a fresh worker already uses: worker {worker.Id} uses {sizeMiB} MiB of anonymous memory when Ready, before any request, so every worker would be recycled as soon as it starts; set it well above {sizeMiB}m, or leave it unset"));
            return false;
        }

        SupervisionLog.FreshWorkerOverBudget(_logger, worker.Id, worker.Pid, sizeMiB, budget >> 20);
        return true;
    }

    /// <summary>
    /// Starts workers until Starting + fresh Ready ones reach the target (only one until the others are released,
    /// see Start), respecting the crash backoff.
    /// </summary>
    private void SpawnMissing()
    {
        lock (_lock)
        {
            if (!_backoff.AllowsSpawn)
            {
                return;
            }

            if (_firstReady && !_allReleased && _time.GetElapsedTime(_firstReadyTimestamp) >= s_remainingStartDelay)
            {
                _allReleased = true; // nobody called StartRemaining (a pool used without the server's warm-up)
            }

            SpawnUpTo(_allReleased ? _target : 1);
            RetireReplacedWorkers();
        }
    }

    private void Kill(Worker worker, string reason)
    {
        SupervisionLog.Killing(_logger, worker.Id, worker.Pid, reason);
        worker.Handle.Kill();
        OnLost(worker, reason);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
