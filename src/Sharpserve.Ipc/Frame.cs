using System.Buffers;

namespace Sharpserve.Ipc;

/// <summary>
/// One frame: <c>u32 payload length | u8 type | u64 request id | payload</c>, little-endian. The payload is a
/// slice of the reader's buffer, valid until the reader advances.
/// </summary>
public readonly struct Frame(FrameType type, ulong requestId, ReadOnlySequence<byte> payload)
{
    /// <summary>Bytes before the payload: length (4), type (1), request id (8).</summary>
    public const int HeaderSize = 13;

    /// <summary>Largest payload accepted; a bigger length is a protocol error, not an allocation.</summary>
    public const int MaxPayloadSize = 64 << 20;

    /// <summary>Version carried in Hello; bump when the layout of any frame changes.</summary>
    public const ushort ProtocolVersion = 2;

    /// <summary>The requested-outputs count of an Infer frame that asks for every output.</summary>
    public const ushort AllOutputs = ushort.MaxValue;

    public FrameType Type { get; } = type;

    public ulong RequestId { get; } = requestId;

    public ReadOnlySequence<byte> Payload { get; } = payload;
}
