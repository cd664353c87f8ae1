using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Sharpserve.Abstractions;
using Sharpserve.Core.Scheduling;

namespace Sharpserve.Core.Execution;

/// <summary>
/// Thread mode: N dedicated threads, each with its own <see cref="IModelSession"/> over the one shared model.
/// Every thread runs the model's warm-up requests before it takes work; the executor is warm when all have.
/// Dedicated threads keep model CPU work off the thread pool that Kestrel's I/O runs on.
/// </summary>
public sealed partial class InProcessExecutor : IExecutor
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

    public InProcessExecutor(IModel model, InferenceScheduler scheduler, int threadCount, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scheduler);
        ArgumentOutOfRangeException.ThrowIfLessThan(threadCount, 1);
        _model = model;
        _scheduler = scheduler;
        _logger = logger ?? NullLogger.Instance;
        _threads = new Thread[threadCount];
        for (int i = 0; i < threadCount; i++)
        {
            _threads[i] = new Thread(Run)
            {
                IsBackground = true,
                Name = $"sharpserve-executor-{i}",
            };
        }
    }

    public int ThreadCount => _threads.Length;

    /// <summary>Executors that have finished warm-up.</summary>
    public int WarmCount => Volatile.Read(ref _warmCount);

    public bool IsWarm => WarmCount == _threads.Length;

    /// <summary>Requests run to completion by this executor (warm-up excluded).</summary>
    public long CompletedCount => Interlocked.Read(ref _completedCount);

    /// <summary>Completes when every executor thread has finished warm-up; faults if warm-up failed.</summary>
    public Task WarmedUp => _allWarm.Task;

    public void Start()
    {
        _started = true;
        _runningCount = _threads.Length;
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i].Start(i);
        }
    }

    /// <summary>Closes the queue and waits for the executors to finish what was already admitted.</summary>
    public Task StopAsync()
    {
        _scheduler.Close();
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
            if (Interlocked.Increment(ref _warmCount) == _threads.Length)
            {
                _allWarm.TrySetResult();
            }

            ServeQueue(session);
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
