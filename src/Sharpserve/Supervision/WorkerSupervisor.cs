using Microsoft.Extensions.Logging;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// Keeps a model's worker processes: starts them (with backoff after failures), attaches their connections, turns
/// them Ready, recycles, reloads and scales by starting the replacement first and draining the old one once enough
/// fresh workers are Ready, and kills workers that are silent, stuck or slow to start, as its
/// <see cref="WorkerHeartbeat"/> finds them. Every change of a worker's state and of the worker set happens here,
/// under one lock; readers (the executor's routing, status) use <see cref="Workers"/>, an immutable snapshot.
/// </summary>
internal sealed class WorkerSupervisor : IWorkerLifecycle
{
    private readonly WorkerPoolOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly WorkerStarter _starter;
    private readonly WorkerListener _listener = new();
    private readonly RestartBackoff _backoff;
    private readonly Lock _lock = new();
    private readonly List<Worker> _workers = [];
    private readonly TaskCompletionSource _firstWarm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly AsyncSignal _changed;
    private readonly Action<Worker> _onLost;
    /// <summary>At the latest this long after the first worker is Ready, the others start (see Start).</summary>
    private static readonly TimeSpan s_remainingStartDelay = TimeSpan.FromSeconds(2);

    private volatile Worker[] _snapshot = [];
    private string _modelPath;
    private int _target;
    private int _generation;
    private int _restarts;
    private bool _allReleased;
    private bool _firstReady;
    private long _firstReadyTimestamp;
    private volatile bool _stopping;
    private Task _heartbeat = Task.CompletedTask;

    /// <param name="changed">Set whenever capacity may have changed (a worker Ready or lost), for the dispatcher.</param>
    /// <param name="onLost">Takes a lost worker's in-flight requests (the executor retries them).</param>
    /// <param name="startTogether">All workers load at once (a mapped image costs little CPU); otherwise one first.</param>
    public WorkerSupervisor(
        string modelPath,
        string modelName,
        WorkerPoolOptions options,
        IWorkerLauncher launcher,
        ILogger logger,
        TimeProvider time,
        AsyncSignal changed,
        Action<Worker> onLost,
        bool startTogether)
    {
        _modelPath = modelPath;
        _options = options;
        _starter = new WorkerStarter(launcher, options, _listener.SocketPath, modelName, logger, time);
        _logger = logger;
        _time = time;
        _changed = changed;
        _onLost = onLost;
        _backoff = new RestartBackoff(time);
        _target = options.Workers;
        _allReleased = startTogether;
    }

    /// <summary>Every live worker, in start order: an immutable snapshot, replaced on every change.</summary>
    public Worker[] Workers => _snapshot;

    /// <summary>Completes when the first worker is Ready; faults when workers cannot start (or a budget cannot be met).</summary>
    public Task WarmedUp => _firstWarm.Task;

    public int Restarts => Volatile.Read(ref _restarts);

    public int TargetWorkers => Volatile.Read(ref _target);

    public string ModelPath => Volatile.Read(ref _modelPath);

    public bool IsStopping => _stopping;

    public void Start(IWorkerAnswers answers)
    {
        _listener.Start(this, answers, _time, reason => SupervisionLog.BadHandshake(_logger, reason));
        lock (_lock)
        {
            // Unless the model's load is cheap (startTogether), one worker first, alone: loading is then CPU-bound
            // (ONNX Runtime prepacks every weight), and N loads at once on fewer cores would delay the first Ready,
            // hence readiness, by about N / cores. The others start once the server has warmed its HTTP path
            // through it (StartRemaining), or at the latest two seconds after it is Ready (the heartbeat).
            SpawnUpTo(_allReleased ? _target : 1);
        }

        _heartbeat = new WorkerHeartbeat(this, _options, _time).RunAsync(_stop.Token);
    }

    /// <summary>Starts the workers held back at start, once the server has warmed its HTTP path through the first.</summary>
    public void StartRemaining()
    {
        lock (_lock)
        {
            _allReleased = true;
            SpawnUpTo(_target);
        }
    }

    /// <summary>Reload: a full set of workers starts on <paramref name="modelPath"/>; the old ones drain as the new become Ready.</summary>
    public void Reload(string modelPath)
    {
        lock (_lock)
        {
            Volatile.Write(ref _modelPath, modelPath);
            _generation++;
            foreach (Worker worker in _workers)
            {
                worker.Recycling = true;
            }

            SupervisionLog.Reloading(_logger, _generation, modelPath);
            SpawnUpTo(_allReleased ? _target : 1);
        }
    }

    /// <summary>Adds (+1) or removes (-1) a worker; never below one. Removing drains the least-loaded Ready worker.</summary>
    public void Scale(int delta)
    {
        lock (_lock)
        {
            int target = Math.Max(1, _target + delta);
            if (target == _target)
            {
                return;
            }

            SupervisionLog.Scaling(_logger, _target, target);
            Volatile.Write(ref _target, target);
            if (delta > 0)
            {
                SpawnUpTo(_allReleased ? _target : 1);
                return;
            }

            Worker? victim = null;
            foreach (Worker worker in _workers)
            {
                if (worker.State == WorkerState.Ready && !worker.Recycling && (victim is null || worker.InFlight.Count < victim.InFlight.Count))
                {
                    victim = worker;
                }
            }

            if (victim is not null)
            {
                BeginDrain(victim, "scaled down");
            }
        }
    }

    /// <summary>Marks <paramref name="worker"/> for replacement: a fresh worker starts now, and it drains once that one is Ready.</summary>
    public void Recycle(Worker worker, string reason)
    {
        lock (_lock)
        {
            if (worker.Recycling || worker.State != WorkerState.Ready || worker.IsLost)
            {
                return;
            }

            worker.Recycling = true;
            SupervisionLog.Recycling(_logger, worker.Id, worker.Pid, reason);
            if (_backoff.AllowsSpawn && !_stopping)
            {
                SpawnUpTo(_allReleased ? _target : 1);
            }
        }
    }

    public Worker? TryAttach(int id, int pid, FrameConnection connection)
    {
        lock (_lock)
        {
            foreach (Worker worker in _workers)
            {
                if (worker.Id == id && worker.Pid == pid && worker.Connection is null && !worker.IsLost)
                {
                    worker.Connection = connection;
                    return worker;
                }
            }
        }

        return null;
    }

    public void OnReady(Worker worker, long mappedModelBytes)
    {
        lock (_lock)
        {
            if (worker.IsLost || worker.State != WorkerState.Starting)
            {
                return; // a worker drained or killed while it was starting stays so
            }

            worker.MappedModelBytes = mappedModelBytes;
            // The baseline of --max-worker-memory, before any request (WorkerMemoryBudget).
            worker.Memory = ProcessMemory.Read(worker.Pid);
            worker.MemoryAtReady = worker.Memory;
            worker.State = WorkerState.Ready;
            worker.Progress.Heard(_time.GetTimestamp(), answer: true);
            _backoff.Succeeded();
            SupervisionLog.WorkerReady(_logger, worker.Id, worker.Pid, mappedModelBytes);
            if (!_firstReady)
            {
                _firstReady = true;
                _firstReadyTimestamp = _time.GetTimestamp();
            }

            RetireReplacedWorkers();
        }

        _changed.Set();
    }

    public void OnLost(Worker worker, string reason)
    {
        if (!worker.TryMarkLost())
        {
            return;
        }

        bool expected = _stopping || (worker.State == WorkerState.Draining && worker.ShutdownSent);
        worker.Connection?.Abort(reason);
        if (expected)
        {
            _ = WorkerShutdown.KillUnlessExitedAsync(worker.Handle, _time); // closing on its way out: no race with its exit
        }
        else
        {
            worker.Handle.Kill();
        }

        int held = worker.InFlight.Count;
        _onLost(worker);
        lock (_lock)
        {
            worker.State = WorkerState.Stopped;
            _workers.Remove(worker);
            _snapshot = [.. _workers];
            if (expected)
            {
                SupervisionLog.WorkerExited(_logger, worker.Id, worker.Pid);
            }
            else
            {
                _restarts++;
                double backoffMs = _backoff.Failed();
                SupervisionLog.WorkerLost(_logger, worker.Id, worker.Pid, reason, held, backoffMs);
                if (_backoff.ConsecutiveFailures >= RestartBackoff.GiveUpAfter && !_firstWarm.Task.IsCompleted)
                {
                    _firstWarm.TrySetException(new WorkerPoolStartException(
                        $"worker processes failed to start {_backoff.ConsecutiveFailures} times in a row; last: worker {worker.Id} {reason}"));
                }
            }
        }

        _changed.Set();
    }

    /// <summary>Shutdown: every worker finishes what it holds and exits (<see cref="WorkerShutdown"/>); then the listener closes.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        Worker[] workers = _snapshot;
        await WorkerShutdown.StopAllAsync(workers);
        await _stop.CancelAsync();
        await _heartbeat;
        await _listener.DisposeAsync();
        foreach (Worker worker in workers)
        {
            worker.Handle.Dispose();
        }

        _stop.Dispose();
        SupervisionLog.Stopped(_logger);
    }

    /// <summary>
    /// Starts workers until Starting + fresh Ready ones reach the target (only one until the others are released,
    /// see Start), respecting the crash backoff. The heartbeat calls it on every pass.
    /// </summary>
    public void SpawnMissing()
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

    /// <summary>Kills a worker found silent, stuck or too slow, and declares it lost.</summary>
    public void Kill(Worker worker, string reason)
    {
        SupervisionLog.Killing(_logger, worker.Id, worker.Pid, reason);
        worker.Handle.Kill();
        OnLost(worker, reason);
    }

    /// <summary>A drained worker holds no request any more: it is told to exit (its exit is then expected).</summary>
    public void SendShutdown(Worker worker)
    {
        lock (_lock)
        {
            worker.ShutdownSent = true;
        }

        worker.TrySend(OutgoingFrame.Empty(FrameType.Shutdown, 0));
        worker.Connection?.CompleteSending();
    }

    /// <summary>Starts workers until Starting + fresh Ready ones number <paramref name="wanted"/>. Under the lock.</summary>
    private void SpawnUpTo(int wanted)
    {
        int live = 0;
        foreach (Worker worker in _workers)
        {
            if (worker.State == WorkerState.Starting || (worker.State == WorkerState.Ready && !worker.Recycling))
            {
                live++;
            }
        }

        for (; live < wanted && !_stopping; live++)
        {
            Spawn();
        }
    }

    /// <summary>Starts one worker. Under the lock.</summary>
    private void Spawn()
    {
        Worker worker = _starter.Start(_modelPath, _generation);
        _workers.Add(worker);
        _snapshot = [.. _workers];
        _ = worker.Handle.Exited.ContinueWith(
            exit => OnLost(worker, exit.Result),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Once enough fresh workers are Ready, each worker marked for recycling starts draining. Under the lock.</summary>
    private void RetireReplacedWorkers()
    {
        int fresh = 0;
        foreach (Worker worker in _workers)
        {
            if (worker.State == WorkerState.Ready && !worker.Recycling)
            {
                fresh++;
            }
        }

        if (fresh >= 1)
        {
            _firstWarm.TrySetResult();
        }

        foreach (Worker worker in _workers)
        {
            if (fresh < _target)
            {
                break;
            }

            if (worker.Recycling && worker.State is WorkerState.Ready or WorkerState.Starting)
            {
                BeginDrain(worker, "replaced");
            }
        }
    }

    /// <summary>
    /// The worker takes no new requests; the heartbeat sends Shutdown once its in-flight requests are answered. One
    /// still starting holds none and is stopped at once. Under the lock.
    /// </summary>
    private void BeginDrain(Worker worker, string reason)
    {
        worker.State = WorkerState.Draining;
        worker.DrainTimestamp = _time.GetTimestamp();
        SupervisionLog.Draining(_logger, worker.Id, worker.Pid, reason);
        if (worker.Connection is null)
        {
            worker.ShutdownSent = true; // its exit is expected
            worker.Handle.Kill();
        }
    }
}
