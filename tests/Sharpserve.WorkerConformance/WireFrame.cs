namespace Sharpserve.WorkerConformance;

/// <summary>One frame read off the connection: the type byte as sent, the request id and the payload.</summary>
public sealed record WireFrame(byte Type, ulong RequestId, byte[] Payload)
{
    public bool Is(WireFrameType type) => Type == (byte)type;

    public override string ToString() =>
        Enum.IsDefined((WireFrameType)Type) ? $"{(WireFrameType)Type} frame (id {RequestId}, {Payload.Length} bytes)" : $"frame of unknown type {Type}";
}
