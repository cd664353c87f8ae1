using System.Buffers;
using System.Buffers.Binary;

namespace Sharpserve.Ipc;

/// <summary>Parses frames out of a pipe's buffer without copying.</summary>
public static class FrameReader
{
    /// <summary>The type of the frame at the front of <paramref name="buffer"/>, whole or not; null before its type byte.</summary>
    public static FrameType? PeekType(in ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length <= 4)
        {
            return null;
        }

        ReadOnlySequence<byte> type = buffer.Slice(4, 1);
        return (FrameType)type.FirstSpan[0];
    }

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. Returns false when more bytes are needed;
    /// throws <see cref="IpcProtocolException"/> when the bytes cannot be a frame (the connection is then unusable).
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (buffer.Length < Frame.HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[Frame.HeaderSize];
        buffer.Slice(0, Frame.HeaderSize).CopyTo(header);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        byte type = header[4];
        ulong requestId = BinaryPrimitives.ReadUInt64LittleEndian(header[5..]);
        if (length > Frame.MaxPayloadSize)
        {
            throw new IpcProtocolException($"frame payload of {length} bytes exceeds the limit of {Frame.MaxPayloadSize}");
        }

        if (type is < (byte)FrameType.Hello or > (byte)FrameType.Shutdown)
        {
            throw new IpcProtocolException($"unknown frame type {type}");
        }

        if (buffer.Length < Frame.HeaderSize + length)
        {
            return false;
        }

        frame = new Frame((FrameType)type, requestId, buffer.Slice(Frame.HeaderSize, length));
        buffer = buffer.Slice(Frame.HeaderSize + length);
        return true;
    }
}
