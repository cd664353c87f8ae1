namespace Sharpserve.Supervision;

/// <summary>
/// The worker pool cannot reach Ready as configured (workers keep failing to start, or a setting can never be
/// met); the message is one line for the operator, naming the setting or the failure.
/// </summary>
public sealed class WorkerPoolStartException : InvalidOperationException
{
    public WorkerPoolStartException()
    {
    }

    public WorkerPoolStartException(string message)
        : base(message)
    {
    }

    public WorkerPoolStartException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
