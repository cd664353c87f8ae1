using Sharpserve.Abstractions;
using Sharpserve.Core.Scheduling;
using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

public sealed partial class WorkerPool
{
    private int _pickCursor;

    /// <summary>
    /// The one dispatcher: takes retries first, then the model's queue, and hands each item to the least-loaded
    /// Ready worker with room. While no worker has room the item waits here, still subject to its deadline.
    /// Ends when the queue is closed and every admitted request has been answered.
    /// </summary>
    private async Task DispatchLoopAsync()
    {
        var queue = _scheduler.Reader;
        while (true)
        {
            if (!_retries.Reader.TryRead(out InferenceWorkItem? item) && !queue.TryRead(out item))
            {
                if (queue.Completion.IsCompleted)
                {
                    if (InFlightCount() == 0 && !_retries.Reader.TryPeek(out _))
                    {
                        return;
                    }

                    await Task.WhenAny(_retries.Reader.WaitToReadAsync().AsTask(), _changed.GetWaitTask(), Task.Delay(TimeSpan.FromMilliseconds(50), _time));
                }
                else
                {
                    await Task.WhenAny(_retries.Reader.WaitToReadAsync().AsTask(), queue.WaitToReadAsync().AsTask());
                }

                continue;
            }

            await DispatchAsync(item);
        }
    }

    private async ValueTask DispatchAsync(InferenceWorkItem item)
    {
        while (true)
        {
            if (_scheduler.TrySkip(item))
            {
                return;
            }

            Task changed = _changed.GetWaitTask();
            WorkerProcess? worker = PickWorker();
            if (worker is null)
            {
                if (_stopping && !AnyWorkerAlive())
                {
                    _scheduler.Complete(item, InferResult.Failure(InferErrorKind.ShuttingDown, "the server is shutting down"));
                    return;
                }

                // Wake on any change (answer, Ready, loss) or re-check the deadline every 100 ms.
                await Task.WhenAny(changed, Task.Delay(TimeSpan.FromMilliseconds(100), _time));
                continue;
            }

            item.Attempts++;
            ulong id = (ulong)Interlocked.Increment(ref _nextRequestId);
            worker.InFlight.Add(id, new InFlightRequest(item, _time.GetTimestamp()));
            if (worker.IsLost)
            {
                // Lost between the pick and the registration: its sweep may have missed this item.
                if (worker.InFlight.TryRemove(id, out _))
                {
                    item.Attempts--;
                    continue;
                }

                return;
            }

            if (!Send(worker, FrameType.Infer, id, item.Request) && worker.InFlight.TryRemove(id, out _))
            {
                // The worker was lost after the pick and its sweep did not see this item: try another worker.
                item.Attempts--;
                continue;
            }

            return;
        }
    }

    /// <summary>
    /// The submitting thread's fast path: when a Ready worker has room, the request goes straight to it, with no
    /// hand-off to the dispatcher loop. Otherwise the item takes the queue and the dispatcher handles it.
    /// </summary>
    private bool TryDispatchInline(InferenceWorkItem item)
    {
        WorkerProcess? worker = PickWorker();
        if (worker is null || _stopping)
        {
            return false;
        }

        item.Attempts++;
        ulong id = (ulong)Interlocked.Increment(ref _nextRequestId);
        worker.InFlight.Add(id, new InFlightRequest(item, _time.GetTimestamp()));
        if (!worker.IsLost && Send(worker, FrameType.Infer, id, item.Request))
        {
            return true;
        }

        if (worker.InFlight.TryRemove(id, out _))
        {
            item.Attempts--;
            return false;
        }

        return true; // the loss sweep took it and requeued it
    }

    /// <summary>
    /// The Ready worker with the fewest requests in flight and room for one more. The scan starts one worker
    /// further each time, so ties (an idle pool, or sequential clients) rotate over the workers instead of
    /// always landing on the first: every worker gets warm traffic and the load spreads.
    /// </summary>
    private WorkerProcess? PickWorker()
    {
        WorkerProcess[] workers = _snapshot;
        int count = workers.Length;
        if (count == 0)
        {
            return null;
        }

        int start = (int)((uint)Interlocked.Increment(ref _pickCursor) % (uint)count);
        WorkerProcess? best = null;
        int bestLoad = int.MaxValue;
        for (int i = 0; i < count; i++)
        {
            WorkerProcess worker = workers[(start + i) % count];
            if (worker.State != WorkerState.Ready || worker.Writer is null)
            {
                continue;
            }

            int load = worker.InFlight.Count;
            if (load < _options.MaxInFlightPerWorker && load < bestLoad)
            {
                best = worker;
                bestLoad = load;
            }
        }

        return best;
    }

    private bool AnyWorkerAlive()
    {
        foreach (WorkerProcess worker in _snapshot)
        {
            if (worker.State is WorkerState.Ready or WorkerState.Starting)
            {
                return true;
            }
        }

        return false;
    }

    private int InFlightCount()
    {
        int count = 0;
        foreach (WorkerProcess worker in _snapshot)
        {
            count += worker.InFlight.Count;
        }

        return count;
    }
}
