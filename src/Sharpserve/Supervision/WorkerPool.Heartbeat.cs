using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

public sealed partial class WorkerPool
{
    private long _pingId;

    /// <summary>
    /// One periodic pass over every worker: heartbeats, silence and stuck-request timeouts, start timeouts,
    /// memory and request-count recycling, draining, and spawning up to the target with backoff.
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
        foreach (WorkerProcess worker in _snapshot)
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
                    if (worker.HasUnreadBytes())
                    {
                        // The worker has written and the front has not read yet (its threads are busy, e.g. writing
                        // large JSON answers): that is the front's delay, not the worker's silence.
                        worker.Progress.Heard(now, answer: true);
                    }

                    // A worker with requests is judged by them (a one-thread worker predicts on its I/O loop and
                    // answers Pings after the predict); an idle one by its Pongs.
                    (ulong oldestId, long oldestSent) = worker.InFlight.Oldest();
                    if (oldestId == 0 && worker.Progress.IsSilent(now, timeout))
                    {
                        Kill(worker, $"was silent for more than {_options.Timeout.TotalSeconds:0.###} s (--timeout)");
                        break;
                    }

                    if (worker.Progress.IsStuck(now, timeout, oldestId, oldestSent))
                    {
                        Kill(worker, $"was stuck on a request for more than {_options.Timeout.TotalSeconds:0.###} s (--timeout)");
                        break;
                    }

                    worker.Memory = ProcessMemory.Read(worker.Pid);
                    if (worker.State == WorkerState.Ready)
                    {
                        CheckRecycling(worker);
                    }
                    else if (worker.InFlight.IsEmpty && !worker.ShutdownSent)
                    {
                        worker.ShutdownSent = true;
                        Send(worker, FrameType.Shutdown, 0);
                    }
                    else if (now - worker.DrainTimestamp > Ticks(_options.GracefulTimeout))
                    {
                        Kill(worker, "did not finish draining within --graceful-timeout");
                        break;
                    }

                    ulong ping = (ulong)Interlocked.Increment(ref _pingId);
                    Send(worker, FrameType.Ping, ping);
                    break;
            }
        }
    }

    private void CheckRecycling(WorkerProcess worker)
    {
        if (worker.Recycling)
        {
            return;
        }

        string? reason = null;
        if (worker.MaxRequests > 0 && worker.Served >= worker.MaxRequests)
        {
            reason = $"served {worker.Served} requests (--max-requests)";
        }
        else
        {
            reason = WorkerMemoryBudget.Exceeded(_options.MaxWorkerMemoryBytes, worker.Memory, worker.MemoryAtReady);
        }

        if (reason is not null)
        {
            lock (_lock)
            {
                worker.Recycling = true;
                Log.Recycling(_logger, worker.Id, worker.Pid, reason);
            }
        }
    }

    /// <summary>At the latest this long after the first worker is Ready, the others start (see Start).</summary>
    private static readonly TimeSpan s_remainingStartDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Starts workers until Starting + fresh Ready ones reach the target (only one until the others are released,
    /// see Start), respecting the crash backoff.
    /// </summary>
    private void SpawnMissing()
    {
        lock (_lock)
        {
            if (_time.GetTimestamp() < _nextSpawnTimestamp)
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

    /// <summary>Starts workers until Starting + fresh Ready ones number <paramref name="wanted"/>. Under the lock.</summary>
    private void SpawnUpTo(int wanted)
    {
        int live = 0;
        foreach (WorkerProcess worker in _workers)
        {
            if (worker.State == WorkerState.Starting || (worker.State == WorkerState.Ready && !worker.Recycling))
            {
                live++;
            }
        }

        for (; live < wanted; live++)
        {
            Spawn();
        }
    }

    private void Kill(WorkerProcess worker, string reason)
    {
        Log.Killing(_logger, worker.Id, worker.Pid, reason);
        worker.TryKill();
        OnWorkerLost(worker, reason);
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
