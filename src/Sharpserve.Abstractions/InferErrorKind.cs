namespace Sharpserve.Abstractions;

/// <summary>
/// Expected ways an inference can fail. Each kind says whose fault it was; one place in the HTTP layer maps
/// them to status codes.
/// </summary>
public enum InferErrorKind
{
    /// <summary>The client sent something the model cannot take (client's fault, 400).</summary>
    BadInput,

    /// <summary>No model by that name or version (client's fault, 404).</summary>
    ModelNotFound,

    /// <summary>The model is loading or warming up (transient, 503).</summary>
    ModelNotReady,

    /// <summary>The bounded queue is full (transient overload, 503 with Retry-After).</summary>
    QueueFull,

    /// <summary>The request's deadline passed before it was answered (504).</summary>
    DeadlineExceeded,

    /// <summary>The server is shutting down (transient, 503).</summary>
    ShuttingDown,

    /// <summary>The backend failed on valid input (server's fault, 500).</summary>
    BackendFailed,

    /// <summary>The worker process died with the request and a retry on a sibling failed too (transient, 503).</summary>
    WorkerCrashed,

    /// <summary>
    /// The client closed its connection before the answer (nobody reads it; logged as 499, nginx's code). The front
    /// decides this; a worker never sends it.
    /// </summary>
    ClientClosedRequest,
}
