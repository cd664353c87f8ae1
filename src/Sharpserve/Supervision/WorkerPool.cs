using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>
/// Process mode's executor and supervisor. Keeps N worker processes (each <c>sharpserve worker</c>, mapping the
/// same read-only model image) Ready; sends each request from the model's queue to the least-loaded Ready worker
/// over its Unix-socket connection, pipelined; watches heartbeats, deadlines, memory and request counts;
/// restarts crashed workers with backoff and retries their in-flight requests once on a sibling; recycles and
/// reloads by starting the replacement first, so capacity never drops.
/// </summary>
public sealed partial class WorkerPool : IExecutor
{
    private readonly WorkerPoolOptions _options;
    private readonly InferenceScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string _modelName;
    private readonly string _socketDirectory;
    private readonly string _socketPath;
    private readonly Socket _listener;
    private readonly Lock _lock = new();
    private readonly List<WorkerProcess> _workers = [];
    private readonly Channel<InferenceWorkItem> _retries = Channel.CreateUnbounded<InferenceWorkItem>();
    private readonly AsyncSignal _changed = new();
    private readonly TaskCompletionSource _firstWarm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private volatile WorkerProcess[] _snapshot = [];
    private volatile string _imagePath;
    private int _target;
    private int _nextWorkerId;
    private int _generation;
    private int _consecutiveFailures;
    private int _restarts;
    private long _nextSpawnTimestamp;
    private long _completed;
    private long _nextRequestId;
    private volatile bool _stopping;
    private bool _firstReady;
    private bool _allReleased;
    private long _firstReadyTimestamp;
    private string _lastFailure = "";
    private Task _dispatching = Task.CompletedTask;
    private Task _heartbeat = Task.CompletedTask;
    private Task _accepting = Task.CompletedTask;
    private Task? _stopped;

    public WorkerPool(
        string imagePath,
        string modelName,
        WorkerPoolOptions options,
        InferenceScheduler scheduler,
        ILogger logger,
        TimeProvider? time = null,
        bool startTogether = false)
    {
        _imagePath = imagePath;
        _modelName = modelName;
        _options = options;
        _scheduler = scheduler;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _target = options.Workers;
        _allReleased = startTogether;
        _socketDirectory = SocketDirectory.Create();
        _socketPath = Path.Combine(_socketDirectory, "workers.sock");
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        scheduler.InlineDispatch = TryDispatchInline;
    }

    /// <summary>
    /// Completes when the first worker is Ready (DESIGN: a model is ready when one executor is warm), so readiness
    /// does not wait for every worker to load; the router only ever uses Ready workers, so no request meets a cold
    /// one. Faults when workers keep failing to start.
    /// </summary>
    public Task WarmedUp => _firstWarm.Task;

    /// <summary>At least one worker is Ready.</summary>
    public bool IsWarm
    {
        get
        {
            foreach (WorkerProcess worker in _snapshot)
            {
                if (worker.State == WorkerState.Ready)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public long CompletedCount => Interlocked.Read(ref _completed);

    /// <summary>Workers that died or were killed unexpectedly since start.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public int TargetWorkers => Volatile.Read(ref _target);

    public string ImagePath => _imagePath;

    public void Start()
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(_socketDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        _listener.Bind(new UnixDomainSocketEndPoint(_socketPath));
        _listener.Listen(128);
        _accepting = AcceptLoopAsync();
        lock (_lock)
        {
            // Unless the model's load is cheap (startTogether), one worker first, alone: loading is then CPU-bound
            // (ONNX Runtime prepacks every weight), and N loads at once on fewer cores would delay the first Ready,
            // hence readiness, by about N / cores. The others start once the server has warmed its HTTP path
            // through it (StartRemaining), or at the latest two seconds after it is Ready, see SpawnMissing.
            SpawnUpTo(_allReleased ? _target : 1);
        }

        _dispatching = DispatchLoopAsync();
        _heartbeat = HeartbeatLoopAsync();
    }

    /// <summary>
    /// Starts the workers held back at start (all but the first): called once the server has finished its warm-up
    /// through the first worker, so their loads do not compete with it for the cores.
    /// </summary>
    public void StartRemaining()
    {
        lock (_lock)
        {
            _allReleased = true;
            SpawnUpTo(_target);
        }

        _changed.Set();
    }

    /// <summary>Reload: start a full set of workers on <paramref name="imagePath"/>; the old ones drain as the new become Ready.</summary>
    public void Reload(string imagePath)
    {
        lock (_lock)
        {
            _imagePath = imagePath;
            _generation++;
            foreach (WorkerProcess worker in _workers)
            {
                worker.Recycling = true;
            }

            Log.Reloading(_logger, _generation, imagePath);
        }

        _changed.Set();
    }

    /// <summary>Adds (+1) or removes (-1) a worker; never below one.</summary>
    public void Scale(int delta)
    {
        lock (_lock)
        {
            int target = Math.Max(1, _target + delta);
            if (target == _target)
            {
                return;
            }

            Log.Scaling(_logger, _target, target);
            _target = target;
            if (delta < 0)
            {
                WorkerProcess? victim = null;
                foreach (WorkerProcess worker in _workers)
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
    }

    public IReadOnlyList<WorkerStatus> GetStatus()
    {
        WorkerProcess[] workers = _snapshot;
        var rows = new List<WorkerStatus>(workers.Length);
        foreach (WorkerProcess worker in workers)
        {
            ProcessMemory memory = ProcessMemory.Read(worker.Pid);
            rows.Add(new WorkerStatus(
                worker.Id, worker.Pid, worker.State, worker.Generation, worker.Served, worker.InFlight.Count,
                memory.AnonymousBytes, ModelMappings.ResidentBytes(worker.Pid, worker.ModelFiles), memory.PssBytes,
                memory.PrivateDirtyBytes, WorkerMemoryBudget.Growth(memory, worker.MemoryAtReady)));
        }

        return rows;
    }

    public Task StopAsync() => _stopped ??= StopCoreAsync();

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }

    private async Task StopCoreAsync()
    {
        _stopping = true;
        _scheduler.Close();
        _changed.Set();
        Task drained = _dispatching;
        if (await Task.WhenAny(drained, Task.Delay(_options.GracefulTimeout, _time)) != drained)
        {
            Log.DrainTimedOut(_logger, _options.GracefulTimeout);
        }

        WorkerProcess[] workers = _snapshot;
        foreach (WorkerProcess worker in workers)
        {
            // A worker still starting holds no request; it would only read Shutdown after loading its model (or
            // never, if it has not connected yet), so it is stopped at once.
            if (worker.State == WorkerState.Starting || !Send(worker, FrameType.Shutdown, 0))
            {
                worker.TryKill();
            }
        }

        await Task.WhenAll(Array.ConvertAll(workers, WaitForExitOrKillAsync));

        await _stop.CancelAsync();
        _listener.Dispose();
        try
        {
            await Task.WhenAll(_accepting, _heartbeat);
        }
        catch (OperationCanceledException)
        {
        }

        foreach (WorkerProcess worker in workers)
        {
            await worker.Process.WaitForExitAsync();
            worker.Process.Dispose();
        }

        Directory.Delete(_socketDirectory, recursive: true);
        Log.Stopped(_logger);
    }

    /// <summary>Starts one worker process. Called under the lock.</summary>
    private void Spawn()
    {
        int id = ++_nextWorkerId;
        long maxRequests = _options.MaxRequests <= 0
            ? 0
            : _options.MaxRequests + (_options.MaxRequestsJitter > 0 ? Random.Shared.NextInt64(_options.MaxRequestsJitter + 1) : 0);
        string[] arguments =
        [
            "worker", "--socket", _socketPath, "--model", _imagePath, "--name", _modelName,
            "--id", id.ToString(CultureInfo.InvariantCulture),
            "--threads", _options.ThreadsPerWorker.ToString(CultureInfo.InvariantCulture),
        ];
        System.Diagnostics.Process process = WorkerLauncher.Start(_options.WorkerCommand, arguments, _options.WorkerEnvironment);
        var worker = new WorkerProcess(id, _generation, process, _time.GetTimestamp(), maxRequests) { ModelFiles = ModelMappings.FilesOf(_imagePath) };
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => OnWorkerLost(worker, $"exited with code {SafeExitCode(worker)}");
        process.OutputDataReceived += (_, e) => LogWorkerLine(worker, e.Data);
        process.ErrorDataReceived += (_, e) => LogWorkerLine(worker, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _workers.Add(worker);
        _snapshot = [.. _workers];
        Log.Spawned(_logger, id, worker.Pid, _generation);
        if (process.HasExited)
        {
            OnWorkerLost(worker, "exited at start");
        }
    }

    private static string SafeExitCode(WorkerProcess worker)
    {
        try
        {
            return worker.Process.ExitCode.ToString(CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "?";
        }
    }

    private void LogWorkerLine(WorkerProcess worker, string? line)
    {
        if (!string.IsNullOrEmpty(line))
        {
            Log.WorkerOutput(_logger, worker.Id, worker.Pid, line);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeConnectionAsync(connection);
        }
    }

    /// <summary>Reads one worker's frames: Hello first, then Ready, Result, Error and Pong, until the connection ends.</summary>
    private async Task ServeConnectionAsync(Socket connection)
    {
        await using var stream = new NetworkStream(connection, ownsSocket: true);
        PipeReader reader = PipeReader.Create(stream);
        WorkerProcess? worker = null;
        string reason = "closed its connection";
        try
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync(_stop.Token);
                ReadOnlySequence<byte> buffer = read.Buffer;
                bool answer = false;
                while (FrameReader.TryRead(ref buffer, out Frame frame))
                {
                    answer |= frame.Type is FrameType.Result or FrameType.Error;
                    if (worker is null)
                    {
                        worker = Attach(frame, PipeWriter.Create(stream), connection);
                        if (worker is null)
                        {
                            return;
                        }

                        continue;
                    }

                    HandleFrame(worker, frame);
                }

                // Every read brings new bytes (all of the buffer was examined before): a sign of life, and progress
                // when they are (part of) an answer, e.g. a large Result still arriving (WorkerProgress).
                worker?.Progress.Heard(_time.GetTimestamp(), answer || FrameReader.PeekType(buffer) is FrameType.Result or FrameType.Error);
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (IpcProtocolException ex)
        {
            reason = $"broke the protocol: {ex.Message}";
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            reason = "lost its connection";
        }

        if (worker is not null)
        {
            OnWorkerLost(worker, reason);
        }
    }

    private WorkerProcess? Attach(in Frame hello, PipeWriter writer, Socket connection)
    {
        if (hello.Type != FrameType.Hello)
        {
            Log.BadHandshake(_logger, $"first frame was {hello.Type}, not Hello");
            return null;
        }

        (ushort version, int pid, int id) = PayloadReader.ReadHello(hello.Payload);
        if (version != Frame.ProtocolVersion)
        {
            Log.BadHandshake(_logger, $"worker speaks protocol {version}, the front {Frame.ProtocolVersion}");
            return null;
        }

        foreach (WorkerProcess worker in _snapshot)
        {
            if (worker.Id == id && worker.Pid == pid && worker.Writer is null && !worker.IsLost)
            {
                worker.Connection = connection;
                worker.Writer = writer;
                worker.Progress.Heard(_time.GetTimestamp(), answer: true);
                _ = WriteLoopAsync(worker, writer);
                return worker;
            }
        }

        Log.BadHandshake(_logger, $"no starting worker {id} with pid {pid}");
        return null;
    }

    private void HandleFrame(WorkerProcess worker, in Frame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Ready:
                worker.MappedModelBytes = PayloadReader.ReadReady(frame.Payload);
                OnReady(worker);
                break;
            case FrameType.Result:
            case FrameType.Error:
                if (worker.InFlight.TryRemove(frame.RequestId, out InFlightRequest request))
                {
                    InferResult result = frame.Type == FrameType.Result
                        ? InferResult.Success(PayloadReader.ReadResult(frame.Payload))
                        : InferResult.Failure(PayloadReader.ReadError(frame.Payload));
                    _scheduler.Complete(request.Item, result);
                    worker.Progress.Answered(frame.RequestId);
                    worker.CountServed();
                    Interlocked.Increment(ref _completed);
                    _changed.Set();
                }

                break;
            case FrameType.Pong:
                break; // its bytes count as a sign of life (ServeConnectionAsync)
            default:
                throw new IpcProtocolException($"unexpected {frame.Type} frame from a worker");
        }
    }

    private void OnReady(WorkerProcess worker)
    {
        lock (_lock)
        {
            if (worker.IsLost)
            {
                return;
            }

            // The baseline of --max-worker-memory, before any request (WorkerMemoryBudget).
            worker.Memory = ProcessMemory.Read(worker.Pid);
            worker.MemoryAtReady = worker.Memory;
            worker.State = WorkerState.Ready;
            worker.Progress.Heard(_time.GetTimestamp(), answer: true);
            _consecutiveFailures = 0;
            Log.WorkerReady(_logger, worker.Id, worker.Pid, worker.MappedModelBytes);
            if (!_firstReady)
            {
                _firstReady = true;
                _firstReadyTimestamp = _time.GetTimestamp();
            }

            RetireReplacedWorkers();
        }

        _changed.Set();
    }

    /// <summary>Once enough fresh workers are Ready, each worker marked for recycling starts draining. Under the lock.</summary>
    private void RetireReplacedWorkers()
    {
        int fresh = 0;
        foreach (WorkerProcess worker in _workers)
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

        foreach (WorkerProcess worker in _workers)
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

    /// <summary>The worker takes no new requests; the heartbeat sends Shutdown once its in-flight requests are answered.</summary>
    private void BeginDrain(WorkerProcess worker, string reason)
    {
        worker.State = WorkerState.Draining;
        worker.DrainTimestamp = _time.GetTimestamp();
        Log.Draining(_logger, worker.Id, worker.Pid, reason);
    }

    /// <summary>
    /// A worker is gone (exit, connection loss, kill). Its in-flight requests go back to the front of the queue
    /// once (inference is idempotent); an unexpected loss counts toward the restart backoff.
    /// </summary>
    private void OnWorkerLost(WorkerProcess worker, string reason)
    {
        if (!worker.TryMarkLost())
        {
            return;
        }

        bool expected = _stopping || (worker.State == WorkerState.Draining && worker.ShutdownSent);
        worker.State = WorkerState.Stopped;
        worker.Outgoing.Writer.TryComplete();
        worker.TryKill();
        int retried = 0;
        foreach (ulong id in worker.InFlight.Ids)
        {
            if (worker.InFlight.TryRemove(id, out InFlightRequest request))
            {
                Requeue(request.Item);
                retried++;
            }
        }

        lock (_lock)
        {
            _workers.Remove(worker);
            _snapshot = [.. _workers];
            if (!expected)
            {
                _restarts++;
                _consecutiveFailures++;
                _lastFailure = reason;
                double backoffMs = Math.Min(10_000, 100 * Math.Pow(2, Math.Min(_consecutiveFailures - 1, 10)));
                _nextSpawnTimestamp = _time.GetTimestamp() + (long)(backoffMs / 1000 * _time.TimestampFrequency);
                Log.WorkerLost(_logger, worker.Id, worker.Pid, reason, retried, backoffMs);
                if (_consecutiveFailures >= 5 && !_firstWarm.Task.IsCompleted)
                {
                    _firstWarm.TrySetException(new WorkerPoolStartException(
                        $"worker processes failed to start {_consecutiveFailures} times in a row; last: worker {worker.Id} {reason}"));
                }
            }
            else
            {
                Log.WorkerExited(_logger, worker.Id, worker.Pid);
            }
        }

        _changed.Set();
    }

    private void Requeue(InferenceWorkItem item)
    {
        if (item.Attempts >= 2)
        {
            _scheduler.Complete(item, InferResult.Failure(InferErrorKind.WorkerCrashed, "the worker serving this request died, and so did its retry"));
            return;
        }

        _retries.Writer.TryWrite(item);
    }

    /// <summary>Waits up to 10 s for a worker told to shut down, then kills it.</summary>
    private static async Task WaitForExitOrKillAsync(WorkerProcess worker)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await worker.Process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            worker.TryKill();
            await worker.Process.WaitForExitAsync();
        }
    }

    /// <summary>Queues a frame for the worker's writer loop; false when the worker is not connected or is lost.</summary>
    private static bool Send(WorkerProcess worker, FrameType type, ulong requestId, InferenceRequest? request = null) =>
        worker.Writer is not null && !worker.IsLost && worker.Outgoing.Writer.TryWrite(new OutgoingFrame(type, requestId, request));

    /// <summary>
    /// The only writer of a worker's connection: encodes every queued frame, then flushes once, so requests that
    /// arrive together share one write. A failed write means the worker is lost.
    /// </summary>
    private async Task WriteLoopAsync(WorkerProcess worker, PipeWriter writer)
    {
        var outgoing = worker.Outgoing.Reader;
        try
        {
            while (await outgoing.WaitToReadAsync())
            {
                ulong highestRequestId = 0;
                bool ping = false;
                while (outgoing.TryRead(out OutgoingFrame frame))
                {
                    ping |= frame.Type == FrameType.Ping;
                    if (frame.Type == FrameType.Infer)
                    {
                        highestRequestId = Math.Max(highestRequestId, frame.RequestId);
                        try
                        {
                            FrameWriter.WriteInfer(writer, frame.RequestId, frame.Request!);
                        }
                        catch (IpcProtocolException)
                        {
                            // Over the frame limit (only with --max-body-size raised far above its default): refused
                            // before a byte of it was written, so the connection stays in step.
                            if (worker.InFlight.TryRemove(frame.RequestId, out InFlightRequest refused))
                            {
                                long size = FrameWriter.InferPayloadSize(frame.Request!);
                                _scheduler.Complete(refused.Item, InferResult.Failure(InferErrorKind.BadInput,
                                    $"the request's tensors ({size >> 20} MiB) are more than a worker process takes ({Frame.MaxPayloadSize >> 20} MiB): send a smaller batch"));
                                _changed.Set();
                            }
                        }
                    }
                    else
                    {
                        FrameWriter.WriteEmpty(writer, frame.Type, frame.RequestId);
                    }
                }

                FlushResult flushed = await writer.FlushAsync();
                worker.Progress.Flushed(_time.GetTimestamp(), highestRequestId, ping);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException or SocketException)
        {
            OnWorkerLost(worker, "could not be written to");
        }
    }
}
