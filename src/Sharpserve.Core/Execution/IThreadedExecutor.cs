namespace Sharpserve.Core.Execution;

/// <summary>An executor of dedicated threads in this process (thread mode), for /status.</summary>
public interface IThreadedExecutor
{
    int ThreadCount { get; }
}
