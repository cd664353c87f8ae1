namespace Sharpserve.Supervision;

/// <summary>
/// Wakes every waiter when something changed (an answer freed capacity, a worker became Ready or was lost).
/// Waiters take the task before checking their condition, so a signal in between is never missed.
/// </summary>
internal sealed class AsyncSignal
{
    private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task GetWaitTask()
    {
        TaskCompletionSource current = Volatile.Read(ref _current);
        if (current.Task.IsCompleted)
        {
            Interlocked.CompareExchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), current);
            current = Volatile.Read(ref _current);
        }

        return current.Task;
    }

    public void Set() => Volatile.Read(ref _current).TrySetResult();
}
