using System.Buffers;
using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Ipc.Tests;

public sealed class FrameCodecTests
{
    private static ReadOnlySequence<byte> Written(Action<ArrayBufferWriter<byte>> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        return new ReadOnlySequence<byte>(buffer.WrittenMemory);
    }

    [Fact]
    public void WireConstants_AreFrozen()
    {
        // Append-only: changing any of these breaks a front talking to an older worker.
        Assert.Equal(13, Frame.HeaderSize);
        Assert.Equal(2, Frame.ProtocolVersion); // 2: Infer carries the requested outputs
        Assert.Equal(0xFFFF, Frame.AllOutputs);
        Assert.Equal(
            [1, 2, 3, 4, 5, 6, 7, 8, 9],
            Enum.GetValues<FrameType>().Select(t => (int)t).ToArray());
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7, 8 }, Enum.GetValues<InferErrorKind>().Select(k => (int)k).ToArray());
    }

    [Fact]
    public void PingFrame_HasTheDocumentedByteLayout()
    {
        ReadOnlySequence<byte> bytes = Written(w => FrameWriter.WriteEmpty(w, FrameType.Ping, 0x0102030405060708));

        Assert.Equal(
            new byte[] { 0, 0, 0, 0, 6, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01 },
            bytes.ToArray());
    }

    [Fact]
    public void HelloFrame_RoundTrips()
    {
        ReadOnlySequence<byte> bytes = Written(w => FrameWriter.WriteHello(w, 4242, 7));

        Assert.True(FrameReader.TryRead(ref bytes, out Frame frame));
        Assert.Equal(FrameType.Hello, frame.Type);
        Assert.Equal((Frame.ProtocolVersion, 4242, 7), PayloadReader.ReadHello(frame.Payload));
        Assert.True(bytes.IsEmpty);
    }

    [Fact]
    public void InferFrame_RoundTripsTensorsAndParameters()
    {
        var request = new InferenceRequest(
            [
                Tensor.FromBytes("text", [3], [Encoding.UTF8.GetBytes("héllo"), [], [0xff, 0x00, 0x7f]]),
                Tensor.FromFp32("x", [2, 2], [1f, -2.5f, float.MaxValue, 0f]),
            ],
            new InferenceParameters(-1, 0.25f));

        ReadOnlySequence<byte> bytes = Written(w => FrameWriter.WriteInfer(w, 99, request));
        Assert.True(FrameReader.TryRead(ref bytes, out Frame frame));
        InferenceRequest decoded = PayloadReader.ReadInfer(frame.Payload);

        Assert.Equal(99UL, frame.RequestId);
        Assert.Equal(FrameType.Infer, frame.Type);
        Assert.Equal(new InferenceParameters(-1, 0.25f), decoded.Parameters);
        Assert.Equal("text", decoded.Inputs[0].Name);
        Assert.Equal([3L], decoded.Inputs[0].Shape);
        Assert.Equal(request.Inputs[0].BytesData, decoded.Inputs[0].BytesData);
        Assert.Equal([2L, 2L], decoded.Inputs[1].Shape);
        Assert.Equal(request.Inputs[1].Fp32Data, decoded.Inputs[1].Fp32Data);
        Assert.Null(decoded.Outputs); // none asked for: every output
    }

    public static TheoryData<string[]> RequestedOutputs() => new() { Array.Empty<string>(), new[] { "probabilities" }, new[] { "b", "a", "héllo" } };

    [Theory]
    [MemberData(nameof(RequestedOutputs))]
    public void InferFrame_CarriesTheRequestedOutputs(string[] outputs)
    {
        var request = new InferenceRequest([Tensor.FromFp32("x", [1], [1f])], InferenceParameters.Default, outputs);

        ReadOnlySequence<byte> bytes = Written(w => FrameWriter.WriteInfer(w, 1, request));
        Assert.True(FrameReader.TryRead(ref bytes, out Frame frame));
        InferenceRequest decoded = PayloadReader.ReadInfer(frame.Payload);

        Assert.Equal(outputs, decoded.Outputs);
        Assert.Equal([1f], decoded.Inputs[0].Fp32Data!);
    }

    [Fact]
    public void InferFrame_WithBytesAfterTheOutputs_IsAProtocolError()
    {
        var request = new InferenceRequest([Tensor.FromFp32("x", [1], [1f])], InferenceParameters.Default);
        byte[] whole = Written(w => FrameWriter.WriteInfer(w, 1, request)).ToArray();
        byte[] longer = [.. whole, 0x00];
        longer[0]++; // the payload length covers the extra byte
        var sequence = new ReadOnlySequence<byte>(longer);

        Assert.True(FrameReader.TryRead(ref sequence, out Frame frame));
        Frame read = frame;
        Assert.Throws<IpcProtocolException>(() => PayloadReader.ReadInfer(read.Payload));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(2)]
    public void BytesTensor_WhoseDataLengthDisagreesWithItsElements_IsAProtocolError(int delta)
    {
        // "abc" takes 7 data bytes (u32 3, "abc"); the requested-outputs count (2 bytes) follows, so a reader that
        // walked the elements and ignored the data length would still find a plausible payload.
        var request = new InferenceRequest([Tensor.FromBytes("x", [1], [[0x61, 0x62, 0x63]])], InferenceParameters.Default);
        byte[] payload = Written(w => FrameWriter.WriteInfer(w, 1, request)).ToArray()[Frame.HeaderSize..];
        int dataLengthOffset = 4 + 4 + 2 + 2 + 1 + 1 + 1 + 8;
        Assert.Equal(7, BitConverter.ToInt32(payload, dataLengthOffset));
        BitConverter.TryWriteBytes(payload.AsSpan(dataLengthOffset), 7 + delta);

        Assert.Throws<IpcProtocolException>(() => PayloadReader.ReadInfer(new ReadOnlySequence<byte>(payload)));
    }

    [Fact]
    public void ResultAndErrorFrames_RoundTrip()
    {
        var response = new InferenceResponse([Tensor.FromBytes("label", [1, 1], [Encoding.UTF8.GetBytes("__label__fr")]), Tensor.FromFp32("probability", [1, 1], [0.5f])]);
        ReadOnlySequence<byte> bytes = Written(w =>
        {
            FrameWriter.WriteResult(w, 1, response);
            FrameWriter.WriteError(w, 2, new InferError(InferErrorKind.BadInput, "input 'text' is missing"));
        });

        Assert.True(FrameReader.TryRead(ref bytes, out Frame result));
        InferenceResponse decoded = PayloadReader.ReadResult(result.Payload);
        Assert.True(FrameReader.TryRead(ref bytes, out Frame error));
        InferError decodedError = PayloadReader.ReadError(error.Payload);

        Assert.Equal("__label__fr", Encoding.UTF8.GetString(decoded.Outputs[0].BytesData![0]));
        Assert.Equal([0.5f], decoded.Outputs[1].Fp32Data!);
        Assert.Equal(new InferError(InferErrorKind.BadInput, "input 'text' is missing"), decodedError);
    }

    [Fact]
    public void PartialFrame_NeedsMoreBytes_AtEverySplitPoint()
    {
        byte[] whole = Written(w => FrameWriter.WriteError(w, 5, new InferError(InferErrorKind.BackendFailed, "boom"))).ToArray();
        for (int split = 0; split < whole.Length; split++)
        {
            var partial = new ReadOnlySequence<byte>(whole, 0, split);
            Assert.False(FrameReader.TryRead(ref partial, out _));
            Assert.Equal(split, partial.Length);
        }
    }

    [Fact]
    public void FrameSplitAcrossSegments_IsRead()
    {
        byte[] whole = Written(w => FrameWriter.WriteHello(w, 1, 2)).ToArray();
        var first = new Segment(whole.AsMemory(0, 6));
        Segment last = first.Append(whole.AsMemory(6));
        var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);

        Assert.True(FrameReader.TryRead(ref sequence, out Frame frame));
        Assert.Equal((Frame.ProtocolVersion, 1, 2), (PayloadReader.ReadHello(frame.Payload).Version, PayloadReader.ReadHello(frame.Payload).ProcessId, PayloadReader.ReadHello(frame.Payload).WorkerId));
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0x7f, 1, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void GarbageHeader_IsAProtocolError_NotAnAllocation(byte[] header)
    {
        var sequence = new ReadOnlySequence<byte>(header);

        Assert.Throws<IpcProtocolException>(() => FrameReader.TryRead(ref sequence, out _));
    }

    [Fact]
    public void TruncatedOrLyingPayloads_AreProtocolErrors()
    {
        var request = new InferenceRequest([Tensor.FromBytes("text", [2], [[1, 2, 3], [4]])], InferenceParameters.Default);
        byte[] whole = Written(w => FrameWriter.WriteInfer(w, 1, request)).ToArray();
        byte[] payload = whole[Frame.HeaderSize..];
        for (int cut = 0; cut < payload.Length; cut++)
        {
            var truncated = new ReadOnlySequence<byte>(payload, 0, cut);
            Assert.Throws<IpcProtocolException>(() => PayloadReader.ReadInfer(truncated));
        }

        // Seeded: one byte changed per round. Most corruptions are refused; the others (a byte of the data, a
        // parameter) decode to another valid request. Both outcomes must occur, or the loop checks nothing.
        var random = new Random(7);
        int decoded = 0;
        int refused = 0;
        for (int round = 0; round < 500; round++)
        {
            byte[] corrupt = (byte[])payload.Clone();
            corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            InferenceRequest other;
            try
            {
                other = PayloadReader.ReadInfer(new ReadOnlySequence<byte>(corrupt));
            }
            catch (IpcProtocolException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                refused++;
                continue;
            }

            // What decodes is a whole request: one input whose elements match its shape.
            Tensor input = Assert.Single(other.Inputs);
            Assert.Equal(input.Shape.Aggregate(1L, (product, dim) => product * dim), input.ElementCount);
            decoded++;
        }

        Assert.True(refused > 0, "no corrupted payload was refused");
        Assert.True(decoded > 0, "every corrupted payload was refused, even a changed data byte");
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    [Theory]
    [InlineData(FrameType.Hello)]
    [InlineData(FrameType.Ready)]
    [InlineData(FrameType.Result)]
    public void Payload_WithBytesAfterItsEnd_IsAProtocolError(FrameType type)
    {
        byte[] whole = Written(w =>
        {
            switch (type)
            {
                case FrameType.Hello:
                    FrameWriter.WriteHello(w, 1234, 7);
                    break;
                case FrameType.Ready:
                    FrameWriter.WriteReady(w, 4096);
                    break;
                default:
                    FrameWriter.WriteResult(w, 3, new InferenceResponse([Tensor.FromFp32("p", [1], [0.5f])]));
                    break;
            }
        }).ToArray();
        byte[] longer = [.. whole, 0xEE];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(longer, (uint)(longer.Length - Frame.HeaderSize));
        var sequence = new System.Buffers.ReadOnlySequence<byte>(longer);
        Assert.True(FrameReader.TryRead(ref sequence, out Frame frame));

        IpcProtocolException error = Assert.Throws<IpcProtocolException>(() =>
        {
            switch (type)
            {
                case FrameType.Hello:
                    PayloadReader.ReadHello(frame.Payload);
                    break;
                case FrameType.Ready:
                    PayloadReader.ReadReady(frame.Payload);
                    break;
                default:
                    PayloadReader.ReadResult(frame.Payload);
                    break;
            }
        });
        Assert.Equal($"a {type} frame has 1 bytes after its payload", error.Message);
    }
}
