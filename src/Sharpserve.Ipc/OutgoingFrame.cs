using Sharpserve.Abstractions;

namespace Sharpserve.Ipc;

/// <summary>
/// A frame waiting for a <see cref="FrameConnection"/>'s writer: its type and request id, and what its payload is
/// encoded from (one of the fields, by type). Encoding happens on the writer, so senders hand over objects, not
/// bytes.
/// </summary>
public readonly struct OutgoingFrame
{
    private OutgoingFrame(FrameType type, ulong requestId, InferenceRequest? request = null, InferenceResponse? response = null, InferError? error = null, long value = 0, int id = 0)
    {
        Type = type;
        RequestId = requestId;
        Request = request;
        Response = response;
        Error = error;
        Value = value;
        WorkerId = id;
    }

    public FrameType Type { get; }

    public ulong RequestId { get; }

    /// <summary>Infer: the request.</summary>
    public InferenceRequest? Request { get; }

    /// <summary>Result: the outputs.</summary>
    public InferenceResponse? Response { get; }

    /// <summary>Error: the failure.</summary>
    public InferError? Error { get; }

    /// <summary>Hello: the process id; Ready: the mapped model bytes.</summary>
    public long Value { get; }

    /// <summary>Hello: the worker id the front gave.</summary>
    public int WorkerId { get; }

    public static OutgoingFrame Hello(int processId, int workerId) => new(FrameType.Hello, 0, value: processId, id: workerId);

    public static OutgoingFrame Ready(long mappedBytes) => new(FrameType.Ready, 0, value: mappedBytes);

    public static OutgoingFrame Infer(ulong requestId, InferenceRequest request) => new(FrameType.Infer, requestId, request: request);

    public static OutgoingFrame Result(ulong requestId, InferenceResponse response) => new(FrameType.Result, requestId, response: response);

    public static OutgoingFrame Failure(ulong requestId, InferError error) => new(FrameType.Error, requestId, error: error);

    /// <summary>A frame without payload: Ping, Pong, Drain or Shutdown.</summary>
    public static OutgoingFrame Empty(FrameType type, ulong requestId) =>
        type is FrameType.Ping or FrameType.Pong or FrameType.Drain or FrameType.Shutdown
            ? new(type, requestId)
            : throw new ArgumentException($"{type} frames have a payload", nameof(type));
}
