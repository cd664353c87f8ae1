using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Scheduling;

namespace Sharpserve.Core.Execution;

/// <summary>
/// Dynamic batching (docs/architecture.md): one executor thread at a time gathers a batch from the queue (the others
/// run the batches gathered before), so concurrent requests join one batch instead of spreading over idle threads one
/// by one. A batch grows with compatible requests (<see cref="BatchCompatibility"/>) until it holds
/// <see cref="BatchingOptions.MaxBatchSize"/>, reaches a preferred size with nothing else queued, or its first
/// request has waited <see cref="BatchingOptions.MaxQueueDelay"/> since admission. An incompatible request is kept
/// aside and starts the next batch. The batch is one <see cref="IModelSession.InferBatch"/> call; if that call throws,
/// its requests run again one by one, so a bad input fails its own request alone.
/// </summary>
public sealed partial class InProcessExecutor
{
    private readonly Lock _gatherLock = new();

    /// <summary>A request taken from the queue that did not fit the batch being gathered; under <see cref="_gatherLock"/>.</summary>
    private InferenceWorkItem? _setAside;

    private void ServeBatches(IModelSession session)
    {
        int max = Batching.MaxBatchSize;
        var batch = new List<InferenceWorkItem>(max);
        var requests = new InferenceRequest[max];
        var results = new InferResult[max];
        while (true)
        {
            bool more;
            lock (_gatherLock)
            {
                more = Gather(batch);
            }

            if (batch.Count > 0)
            {
                RunBatch(session, batch, requests, results);
                batch.Clear();
            }

            if (!more)
            {
                return;
            }
        }
    }

    /// <summary>Fills <paramref name="batch"/>; false once the queue is closed and nothing is left to run.</summary>
    private bool Gather(List<InferenceWorkItem> batch)
    {
        ChannelReader<InferenceWorkItem> reader = _scheduler.Reader;
        InferenceWorkItem? first = _setAside;
        _setAside = null;
        while (first is null)
        {
            if (reader.TryRead(out InferenceWorkItem? item))
            {
                first = _scheduler.TrySkip(item) ? null : item;
            }
            else if (!WaitToRead(reader))
            {
                return false;
            }
        }

        batch.Add(first);
        if (!BatchCompatibility.IsBatchable(first.Request))
        {
            return true;
        }

        TimeProvider time = _scheduler.Time;
        long closeAt = _scheduler.AdmittedTimestamp(first) + (long)(Batching.MaxQueueDelay.TotalSeconds * time.TimestampFrequency);
        int closingSize = Math.Min(Batching.ClosingSize, Batching.MaxBatchSize);
        while (batch.Count < closingSize)
        {
            if (reader.TryRead(out InferenceWorkItem? item))
            {
                if (_scheduler.TrySkip(item))
                {
                    continue;
                }

                if (!BatchCompatibility.AreCompatible(first.Request, item.Request))
                {
                    _setAside = item;
                    return true;
                }

                batch.Add(item);
                continue;
            }

            // Nothing queued right now: a preferred size goes at once; otherwise wait for company until the delay ends.
            if (Batching.IsPreferred(batch.Count) || !WaitToRead(reader, closeAt))
            {
                return true;
            }
        }

        return true;
    }

    /// <summary>Blocks this thread until the queue has an item (true), or the queue is closed and empty (false).</summary>
    private static bool WaitToRead(ChannelReader<InferenceWorkItem> reader) =>
        reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Blocks this thread until the queue has an item (true), or until <paramref name="closeAt"/> on the scheduler's
    /// clock or the queue is closed (false).
    /// </summary>
    private bool WaitToRead(ChannelReader<InferenceWorkItem> reader, long closeAt)
    {
        // The timer runs on the scheduler's clock, so tests move it with fake time; the clock is read again once the
        // timer exists, as it may have moved past closeAt meanwhile. Cancelling the wait also removes it from the
        // channel's waiters; SuppressThrowing keeps the expected timeout off the exception path.
        TimeProvider time = _scheduler.Time;
        long remaining = closeAt - time.GetTimestamp();
        if (remaining <= 0)
        {
            return false;
        }

        using var timer = new CancellationTokenSource(TimeSpan.FromSeconds((double)remaining / time.TimestampFrequency), time);
        if (time.GetTimestamp() >= closeAt)
        {
            return false;
        }

        Task<bool> wait = reader.WaitToReadAsync(timer.Token).AsTask();
        ((Task)wait).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing).GetAwaiter().GetResult();
        return wait.IsCompletedSuccessfully && wait.Result;
    }

    private void RunBatch(IModelSession session, List<InferenceWorkItem> batch, InferenceRequest[] requests, InferResult[] results)
    {
        // A request that expired or whose client left while the batch formed leaves it here, answered, without running.
        int count = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (!_scheduler.TrySkip(batch[i]))
            {
                batch[count++] = batch[i];
            }
        }

        if (count == 0)
        {
            return;
        }

        long now = _scheduler.Time.GetTimestamp();
        double frequency = _scheduler.Time.TimestampFrequency;
        BatchStatistics.BatchSizes.Observe(count);
        for (int i = 0; i < count; i++)
        {
            BatchStatistics.QueueSeconds.Observe((now - _scheduler.AdmittedTimestamp(batch[i])) / frequency);
        }

        if (count == 1)
        {
            Run(session, batch[0]);
            return;
        }

        for (int i = 0; i < count; i++)
        {
            requests[i] = batch[i].Request;
            results[i] = default;
        }

        try
        {
            session.InferBatch(requests.AsSpan(0, count), results.AsSpan(0, count));
        }
        catch (Exception ex)
        {
            // The batch as a whole failed: each request runs alone, so only a request that fails by itself fails.
            Log.BatchFailed(_logger, ex, _model.Metadata.Name, count);
            for (int i = 0; i < count; i++)
            {
                results[i] = default;
            }
        }

        for (int i = 0; i < count; i++)
        {
            if (results[i].Response is null && results[i].Error is null)
            {
                Run(session, batch[i]); // left unset by the batch: this request alone
            }
            else
            {
                _scheduler.Complete(batch[i], results[i]);
                Interlocked.Increment(ref _completedCount);
            }

            requests[i] = null!;
            results[i] = default;
        }
    }

    /// <summary>Runs the backend's batch path once (a batch of the first warm-up request twice), so no client meets it cold.</summary>
    private void WarmUpBatch(IModelSession session, InferenceRequest request)
    {
        var results = new InferResult[2];
        session.InferBatch([request, request], results);
        foreach (InferResult result in results)
        {
            if (!result.IsSuccess || result.Response is null)
            {
                throw new InvalidOperationException(
                    $"the warm-up batch of model '{_model.Metadata.Name}' failed: {result.Error?.Message ?? "no answer"}");
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1004, LogLevel.Warning, "Model {Model} threw on a batch of {Count} requests; running them one by one")]
        public static partial void BatchFailed(ILogger logger, Exception exception, string model, int count);
    }
}
