using Sharpserve.Abstractions;

namespace Sharpserve.Core.Scheduling;

/// <summary>
/// Receives an item's answer on the thread that completes it (an executor thread, the deadline sweep, or shutdown),
/// instead of a <see cref="Task"/> continuation: a worker process forwards answers to its connection this way, with
/// no hop through the thread pool per request. It must not block.
/// </summary>
public interface IInferenceCallback
{
    void Completed(InferenceWorkItem item, InferResult result);
}
