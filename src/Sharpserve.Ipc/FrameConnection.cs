using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;

namespace Sharpserve.Ipc;

/// <summary>
/// One frame connection over one socket, the same type on both ends (front and worker): a read loop that hands
/// each whole frame to an <see cref="IFrameHandler"/>, and one bounded outgoing queue drained by one writer that
/// encodes everything waiting and flushes once, so frames ready together share a write. A frame over the size limit
/// is refused before a byte is written (the handler is told; the connection stays in step). The connection ends
/// when the peer closes, a frame breaks the protocol, a write fails, or <see cref="Abort"/>; <see cref="Completion"/>
/// says why.
/// </summary>
public sealed class FrameConnection : IAsyncDisposable
{
    /// <summary>Frames waiting for the writer; senders bound their own in-flight work far below this, so a full queue means a peer that stopped reading.</summary>
    public const int DefaultOutgoingCapacity = 4096;

    /// <summary>The <see cref="Completion"/> reason when a write failed.</summary>
    public const string WriteFailed = "could not be written to";

    /// <summary>The <see cref="Completion"/> reason when the outgoing queue overflowed.</summary>
    public const string PeerStoppedReading = "has a peer that stopped reading (its outgoing queue is full)";

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly IFrameHandler _handler;
    private readonly Channel<OutgoingFrame> _outgoing;
    private readonly int _capacity;
    private int _queued;
    private readonly TaskCompletionSource<string> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _abort = new();
    private Task _reading = Task.CompletedTask;
    private Task _writing = Task.CompletedTask;
    private int _started;

    public FrameConnection(Socket socket, IFrameHandler handler, int outgoingCapacity = DefaultOutgoingCapacity)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(handler);
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _handler = handler;
        // Bounded by a count rather than a bounded channel: the single-reader unbounded channel takes no lock on a
        // write, and every request and answer passes through here. (An A/B against the bounded channel on this
        // 2-core VM stayed inside its noise, so this rests on the channels' design, not on a measured gain.)
        _capacity = outgoingCapacity;
        _outgoing = Channel.CreateUnbounded<OutgoingFrame>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>Completes, with the reason, when the connection has ended: the read loop stopped, or it was aborted.</summary>
    public Task<string> Completion => _ended.Task;

    /// <summary>The socket, e.g. to read the peer's credentials.</summary>
    public Socket Socket => _socket;

    /// <summary>Starts the read loop and the writer.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("the connection is already started");
        }

        _writing = WriteLoopAsync();
        _reading = ReadLoopAsync();
        _ = EndAsync();
    }

    /// <summary>Queues a frame for the writer; false when the connection has ended or its queue is full (the peer stopped reading).</summary>
    public bool TrySend(in OutgoingFrame frame)
    {
        if (Interlocked.Increment(ref _queued) <= _capacity && _outgoing.Writer.TryWrite(frame))
        {
            return true;
        }

        Interlocked.Decrement(ref _queued);

        if (!_abort.IsCancellationRequested && !_ended.Task.IsCompleted)
        {
            Abort(PeerStoppedReading);
        }

        return false;
    }

    /// <summary>No more frames will be sent: the writer writes what is queued, flushes, and stops (the read loop goes on).</summary>
    public void CompleteSending() => _outgoing.Writer.TryComplete();

    /// <summary>Waits until everything queued before <see cref="CompleteSending"/> is written.</summary>
    public Task SendingCompleted => _writing;

    /// <summary>
    /// Ends the connection now: queued frames are dropped, the socket is shut down. Safe at any time, also after
    /// <see cref="DisposeAsync"/>: a supervisor's heartbeat may abort a worker's connection while shutdown disposes it.
    /// </summary>
    public void Abort(string reason)
    {
        _ended.TrySetResult(reason);
        _outgoing.Writer.TryComplete();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed already: its loops were cancelled and awaited then.
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Abort("disposed");
        try
        {
            await Task.WhenAll(_reading, _writing);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await _stream.DisposeAsync();
        _abort.Dispose();
    }

    private async Task EndAsync()
    {
        try
        {
            await _reading;
        }
        finally
        {
            // The peer is gone or broke the protocol: nothing more can be written that it would read.
            _outgoing.Writer.TryComplete();
            _abort.Cancel();
        }
    }

    private async Task ReadLoopAsync()
    {
        await Task.Yield(); // the caller of Start goes on; frames are handled on the pool
        PipeReader reader = PipeReader.Create(_stream);
        string reason = "the peer closed the connection";
        try
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync(_abort.Token);
                ReadOnlySequence<byte> buffer = read.Buffer;
                while (FrameReader.TryRead(ref buffer, out Frame frame))
                {
                    _handler.OnFrame(frame);
                }

                _handler.OnReceived(FrameReader.PeekType(buffer));
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        reason = "the peer closed the connection in the middle of a frame";
                    }

                    break;
                }
            }
        }
        catch (IpcProtocolException ex)
        {
            reason = $"broke the protocol: {ex.Message}";
        }
        catch (OperationCanceledException)
        {
            reason = "aborted";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            reason = "lost the connection";
        }
        finally
        {
            await reader.CompleteAsync();
        }

        _ended.TrySetResult(reason);
    }

    private async Task WriteLoopAsync()
    {
        PipeWriter writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        ChannelReader<OutgoingFrame> outgoing = _outgoing.Reader;
        try
        {
            while (await outgoing.WaitToReadAsync())
            {
                ulong highestRequestId = 0;
                bool ping = false;
                while (outgoing.TryRead(out OutgoingFrame frame))
                {
                    Interlocked.Decrement(ref _queued);
                    ping |= frame.Type == FrameType.Ping;
                    if (frame.Type == FrameType.Infer)
                    {
                        highestRequestId = Math.Max(highestRequestId, frame.RequestId);
                    }

                    try
                    {
                        Encode(writer, frame);
                    }
                    catch (IpcProtocolException ex)
                    {
                        // Over the frame limit: the size is computed before a byte is written, so the stream is in step.
                        _handler.OnRefused(frame, ex);
                    }
                }

                FlushResult flushed = await writer.FlushAsync(_abort.Token);
                _handler.OnFlushed(highestRequestId, ping);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            if (!_abort.IsCancellationRequested)
            {
                Abort(WriteFailed);
            }
        }
        finally
        {
            await writer.CompleteAsync();
        }
    }

    private static void Encode(PipeWriter writer, in OutgoingFrame frame)
    {
        switch (frame.Type)
        {
            case FrameType.Infer:
                FrameWriter.WriteInfer(writer, frame.RequestId, frame.Request!);
                break;
            case FrameType.Result:
                FrameWriter.WriteResult(writer, frame.RequestId, frame.Response!);
                break;
            case FrameType.Error:
                FrameWriter.WriteError(writer, frame.RequestId, frame.Error!);
                break;
            case FrameType.Hello:
                FrameWriter.WriteHello(writer, (int)frame.Value, frame.WorkerId);
                break;
            case FrameType.Ready:
                FrameWriter.WriteReady(writer, frame.Value);
                break;
            default:
                FrameWriter.WriteEmpty(writer, frame.Type, frame.RequestId);
                break;
        }
    }
}
