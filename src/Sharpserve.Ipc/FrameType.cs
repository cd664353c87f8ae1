namespace Sharpserve.Ipc;

/// <summary>Frame types of the front ↔ worker protocol. Values are wire constants: append only, never renumber.</summary>
public enum FrameType : byte
{
    /// <summary>Worker → front, first frame: protocol version, pid, worker id.</summary>
    Hello = 1,

    /// <summary>Worker → front: the model is mapped and warm; the worker takes requests from now on.</summary>
    Ready = 2,

    /// <summary>Front → worker: one inference request (parameters and input tensors).</summary>
    Infer = 3,

    /// <summary>Worker → front: the output tensors of an Infer with the same request id.</summary>
    Result = 4,

    /// <summary>Worker → front: an expected failure (kind and message) of an Infer with the same request id.</summary>
    Error = 5,

    /// <summary>Front → worker heartbeat; answered by a Pong with the same id from the worker's I/O loop.</summary>
    Ping = 6,

    /// <summary>Worker → front heartbeat answer.</summary>
    Pong = 7,

    /// <summary>Front → worker: no more requests will come; finish the in-flight ones.</summary>
    Drain = 8,

    /// <summary>Front → worker: finish in-flight requests, then exit 0.</summary>
    Shutdown = 9,
}
