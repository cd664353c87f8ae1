namespace Sharpserve.Ipc;

/// <summary>What a <see cref="FrameConnection"/> hands what it reads and writes to: the front's view of a worker, or a worker's of the front.</summary>
public interface IFrameHandler
{
    /// <summary>
    /// One whole frame, on the connection's read loop, in arrival order. Its payload is valid only during the call.
    /// Throwing <see cref="IpcProtocolException"/> ends the connection as broken.
    /// </summary>
    void OnFrame(in Frame frame);

    /// <summary>
    /// After each read, once its whole frames were handed over: bytes arrived, and <paramref name="partial"/> is the
    /// type of a frame whose bytes are still arriving, if any (a 40 MB Result takes a while: it is progress).
    /// </summary>
    void OnReceived(FrameType? partial)
    {
    }

    /// <summary>
    /// After each flush: the batch held Infer frames up to <paramref name="highestRequestId"/> (0: none) and a Ping
    /// when <paramref name="ping"/>.
    /// </summary>
    void OnFlushed(ulong highestRequestId, bool ping)
    {
    }

    /// <summary>A frame the writer refused before writing a byte of it (over <see cref="Frame.MaxPayloadSize"/>); the connection goes on.</summary>
    void OnRefused(in OutgoingFrame frame, IpcProtocolException reason);
}
