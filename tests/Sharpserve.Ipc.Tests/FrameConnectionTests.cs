using System.Net.Sockets;
using System.Threading.Channels;
using Sharpserve.Abstractions;

namespace Sharpserve.Ipc.Tests;

/// <summary>One FrameConnection at each end of a real Unix socket.</summary>
public sealed class FrameConnectionTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-fc-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Frames_ArriveInOrder_AndFlushesReportWhatTheyHeld()
    {
        (Recorder a, Recorder b) = await PairAsync();
        await using (a.Connection)
        await using (b.Connection)
        {
            a.Connection.TrySend(OutgoingFrame.Infer(7, Request("one")));
            a.Connection.TrySend(OutgoingFrame.Empty(FrameType.Ping, 1));
            a.Connection.TrySend(OutgoingFrame.Infer(9, Request("two")));

            Assert.Equal((FrameType.Infer, 7UL), await b.NextAsync());
            Assert.Equal((FrameType.Ping, 1UL), await b.NextAsync());
            Assert.Equal((FrameType.Infer, 9UL), await b.NextAsync());
            // However the writer batched them, its flushes reported every Infer id up to 9 and the Ping.
            ulong highest = 0;
            bool ping = false;
            while (highest < 9 || !ping)
            {
                (ulong batchHighest, bool batchPing) = await a.Flushes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
                highest = Math.Max(highest, batchHighest);
                ping |= batchPing;
            }

            Assert.Equal(9UL, highest);
        }
    }

    [Fact]
    public async Task OversizedFrame_IsRefusedBeforeAByteIsWritten_AndTheConnectionGoesOn()
    {
        (Recorder a, Recorder b) = await PairAsync();
        await using (a.Connection)
        await using (b.Connection)
        {
            var huge = new InferenceResponse([Tensor.FromRaw("big", TensorDataType.UInt8, [Frame.MaxPayloadSize + 1L], new byte[Frame.MaxPayloadSize + 1])]);
            a.Connection.TrySend(OutgoingFrame.Result(3, huge));
            a.Connection.TrySend(OutgoingFrame.Empty(FrameType.Pong, 4));

            Assert.Equal((FrameType.Pong, 4UL), await b.NextAsync());
            (FrameType type, ulong id) = await a.Refused.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal((FrameType.Result, 3UL), (type, id));
        }
    }

    [Fact]
    public async Task Abort_AfterDispose_IsHarmless()
    {
        // The race seen in a full run: the heartbeat aborted a worker's connection that shutdown had just disposed,
        // and Abort threw ObjectDisposedException from the disposed cancellation source.
        (Recorder a, Recorder b) = await PairAsync();
        await b.Connection.DisposeAsync();
        await a.Connection.DisposeAsync();

        string reason = await a.Connection.Completion.WaitAsync(TimeSpan.FromSeconds(30));

        a.Connection.Abort("heartbeat missed");

        // The first reason stands.
        Assert.Equal(reason, await a.Connection.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Completion_SaysWhy_PeerClosed_OrBrokeTheProtocol()
    {
        (Recorder a, Recorder b) = await PairAsync();
        await b.Connection.DisposeAsync();
        Assert.Equal("the peer closed the connection", await a.Connection.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        await a.Connection.DisposeAsync();

        string path = Path.Combine(_directory, "raw.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        using var raw = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await raw.ConnectAsync(new UnixDomainSocketEndPoint(path));
        var recorder = new Recorder();
        await using var connection = new FrameConnection(await listener.AcceptAsync(), recorder);
        connection.Start();
        await raw.SendAsync(new byte[] { 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0 }); // frame type 200

        Assert.Equal("broke the protocol: unknown frame type 200", await connection.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    private static InferenceRequest Request(string text) =>
        new([Tensor.FromBytes("text", [1], [System.Text.Encoding.UTF8.GetBytes(text)])], InferenceParameters.Default);

    private async Task<(Recorder A, Recorder B)> PairAsync()
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.sock");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1);
        var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await client.ConnectAsync(new UnixDomainSocketEndPoint(path));
        Socket server = await listener.AcceptAsync();
        var a = new Recorder();
        var b = new Recorder();
        a.Connection = new FrameConnection(client, a);
        b.Connection = new FrameConnection(server, b);
        a.Connection.Start();
        b.Connection.Start();
        return (a, b);
    }

    private sealed class Recorder : IFrameHandler
    {
        public FrameConnection Connection { get; set; } = null!;

        public Channel<(FrameType Type, ulong Id)> Frames { get; } = Channel.CreateUnbounded<(FrameType, ulong)>();

        public Channel<(ulong Highest, bool Ping)> Flushes { get; } = Channel.CreateUnbounded<(ulong, bool)>();

        public Channel<(FrameType Type, ulong Id)> Refused { get; } = Channel.CreateUnbounded<(FrameType, ulong)>();

        public Task<(FrameType Type, ulong Id)> NextAsync() => Frames.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        public void OnFrame(in Frame frame) => Frames.Writer.TryWrite((frame.Type, frame.RequestId));

        public void OnFlushed(ulong highestRequestId, bool ping) => Flushes.Writer.TryWrite((highestRequestId, ping));

        public void OnRefused(in OutgoingFrame frame, IpcProtocolException reason) => Refused.Writer.TryWrite((frame.Type, frame.RequestId));
    }
}
