using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Scheduling;

namespace Sharpserve.Core.Execution;

/// <summary>
/// N dedicated threads, each with its own <see cref="IModelSession"/> over the one shared model (thread mode, and
/// each worker process with --worker-threads N). Every thread runs the model's warm-up requests before it takes
/// work; the executor is warm when all have. Dedicated threads keep model CPU work off the thread pool that Kestrel's
/// I/O runs on. With <c>runOnCaller</c> (a worker's single executor) there is no thread: one session predicts on the
/// submitting thread (<see cref="TryAccept"/>), which for a model of microseconds saves two thread hand-offs a request
/// (measured: worth more than the predict itself; docs/architecture.md). With batching on, the threads form batches
/// (InProcessExecutor.Batching.cs).
/// </summary>
public sealed partial class InProcessExecutor : IExecutor, IThreadedExecutor, IBatchingExecutor
{
    private readonly IModel _model;
    private readonly InferenceScheduler _scheduler;
    private readonly ILogger _logger;
    private readonly Thread[] _threads;
    private readonly TaskCompletionSource _allWarm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _warmCount;
    private volatile bool _started;
    private int _runningCount;
    private long _completedCount;
    private readonly Lock _callerLock = new();
    private IModelSession? _callerSession;

    public InProcessExecutor(
        IModel model, InferenceScheduler scheduler, int threadCount, ILogger? logger = null, bool runOnCaller = false, BatchingOptions? batching = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        if (runOnCaller && threadCount != 1)
        {
            throw new ArgumentException("running on the submitting thread takes exactly one session", nameof(threadCount));
        }

        Batching = batching ?? BatchingOptions.Off;
        if (runOnCaller && Batching.IsEnabled)
        {
            throw new ArgumentException("a batch is formed by an executor thread waiting for requests, not on the submitting thread", nameof(batching));
        }

        _model = model;
        _scheduler = scheduler;
        _logger = logger ?? NullLogger.Instance;
        RunsOnCaller = runOnCaller;
        ThreadCount = threadCount;
        _threads = runOnCaller ? [] : new Thread[threadCount];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(Run)
            {
                IsBackground = true,
                Name = $"sharpserve-executor-{i}",
            };
        }
    }

    public string Mode => "thread";

    public int ThreadCount { get; }

    /// <summary>How the threads group requests into model calls; <see cref="BatchingOptions.Off"/> by default.</summary>
    public BatchingOptions Batching { get; }

    /// <summary>Batch sizes and queue times, recorded only while batching is on.</summary>
    public BatchStatistics BatchStatistics { get; } = new();

    /// <summary>One session predicting on the submitting thread instead of dedicated threads.</summary>
    public bool RunsOnCaller { get; }

    /// <summary>Executors that have finished warm-up.</summary>
    public int WarmCount => Volatile.Read(ref _warmCount);

    public bool IsWarm => WarmCount == ThreadCount;

    /// <summary>Requests run to completion by this executor (warm-up excluded).</summary>
    public long CompletedCount => Interlocked.Read(ref _completedCount);

    /// <summary>Completes when every executor thread has finished warm-up; faults if warm-up failed.</summary>
    public Task WarmedUp => _allWarm.Task;

    public void Start()
    {
        _started = true;
        if (RunsOnCaller)
        {
            // The session is made and warmed here, on the starting thread; requests then run on their submitters.
            try
            {
                _callerSession = _model.CreateSession();
                WarmUp(_callerSession, 0);
                Interlocked.Increment(ref _warmCount);
                _allWarm.TrySetResult();
            }
            catch (Exception ex)
            {
                Log.ExecutorFailed(_logger, ex, 0);
                _allWarm.TrySetException(ex);
            }

            return;
        }

        _runningCount = _threads.Length;
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i].Start(i);
        }
    }

    /// <summary>
    /// With <c>runOnCaller</c>: runs <paramref name="item"/> now on this thread (one at a time), and always takes it
    /// once warm. Otherwise false: dedicated threads take work from the queue.
    /// </summary>
    public bool TryAccept(InferenceWorkItem item)
    {
        if (!RunsOnCaller || _callerSession is null)
        {
            return false;
        }

        lock (_callerLock)
        {
            if (_callerSession is { } session && !_scheduler.TrySkip(item))
            {
                Run(session, item);
            }
        }

        return true;
    }

    /// <summary>Closes the queue and waits for the executors to finish what was already admitted.</summary>
    public Task StopAsync()
    {
        _scheduler.Close();
        if (RunsOnCaller)
        {
            lock (_callerLock)
            {
                _callerSession?.Dispose();
                _callerSession = null;
            }

            return Task.CompletedTask;
        }

        return _started ? _allStopped.Task : Task.CompletedTask; // never started: no thread to wait for
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
    }

    private void Run(object? state)
    {
        int index = (int)state!;
        IModelSession? session = null;
        try
        {
            session = _model.CreateSession();
            WarmUp(session, index);
            if (Interlocked.Increment(ref _warmCount) == ThreadCount)
            {
                _allWarm.TrySetResult();
            }

            if (Batching.IsEnabled)
            {
                ServeBatches(session);
            }
            else
            {
                ServeQueue(session);
            }
        }
        catch (Exception ex)
        {
            // A failed session or warm-up is a bug or a broken model: it must not leave the server "ready".
            Log.ExecutorFailed(_logger, ex, index);
            _allWarm.TrySetException(ex);
        }
        finally
        {
            session?.Dispose();
            if (Interlocked.Decrement(ref _runningCount) == 0)
            {
                _allStopped.TrySetResult();
            }
        }
    }

    private void WarmUp(IModelSession session, int index)
    {
        IReadOnlyList<InferenceRequest> requests = _model.WarmupRequests;
        for (int i = 0; i < requests.Count; i++)
        {
            InferResult result = session.Infer(requests[i]);
            if (!result.IsSuccess)
            {
                throw new InvalidOperationException(
                    $"warm-up request {i} of model '{_model.Metadata.Name}' failed: {result.Error!.Message}");
            }
        }

        if (Batching.IsEnabled && requests.Count > 0)
        {
            WarmUpBatch(session, requests[0]);
        }

        Log.ExecutorWarm(_logger, index, requests.Count);
    }

    private void ServeQueue(IModelSession session)
    {
        var reader = _scheduler.Reader;
        while (true)
        {
            if (!reader.TryRead(out InferenceWorkItem? item))
            {
                // Slow path: block this dedicated thread until work arrives or the queue is closed and empty.
                if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
                {
                    return;
                }

                continue;
            }

            if (_scheduler.TrySkip(item))
            {
                continue;
            }

            Run(session, item);
        }
    }

    private void Run(IModelSession session, InferenceWorkItem item)
    {
        InferResult result;
        try
        {
            result = session.Infer(item.Request);
        }
        catch (Exception ex)
        {
            // The blast radius of a backend exception is this request; the session stays in use.
            Log.BackendFailed(_logger, ex, _model.Metadata.Name);
            result = InferResult.Failure(InferErrorKind.BackendFailed, "the model failed on this request");
        }

        _scheduler.Complete(item, result);
        Interlocked.Increment(ref _completedCount);
    }

    private static partial class Log
    {
        [LoggerMessage(1001, LogLevel.Debug, "Executor {Index} warm after {Count} warm-up requests")]
        public static partial void ExecutorWarm(ILogger logger, int index, int count);

        [LoggerMessage(1002, LogLevel.Error, "Executor {Index} failed and stopped")]
        public static partial void ExecutorFailed(ILogger logger, Exception exception, int index);

        [LoggerMessage(1003, LogLevel.Error, "Model {Model} threw while predicting; the request answered 500")]
        public static partial void BackendFailed(ILogger logger, Exception exception, string model);
    }
}
