using System.Buffers.Binary;
using System.Text;

namespace Sharpserve.WorkerConformance;

/// <summary>
/// Parses worker → front payloads strictly by docs/worker-protocol.md: exact payload sizes, every length within the
/// payload, no bytes left over, names and messages valid UTF-8. Anything else fails the test, naming the rule.
/// </summary>
public static class WireReader
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>u16 version | i32 pid | i32 worker id: exactly 10 bytes.</summary>
    public static (ushort Version, int ProcessId, int WorkerId) ReadHello(WireFrame frame)
    {
        Expect(frame, WireFrameType.Hello);
        var cursor = new Cursor(frame.Payload, "Hello");
        (ushort, int, int) hello = (cursor.U16(), cursor.I32(), cursor.I32());
        cursor.ExpectEnd();
        return hello;
    }

    /// <summary>i64 bytes of the model mapped: exactly 8 bytes, not negative.</summary>
    public static long ReadReady(WireFrame frame)
    {
        Expect(frame, WireFrameType.Ready);
        var cursor = new Cursor(frame.Payload, "Ready");
        long mapped = cursor.I64();
        cursor.ExpectEnd();
        Assert.True(mapped >= 0, $"the Ready frame says {mapped} bytes mapped; the count cannot be negative");
        return mapped;
    }

    /// <summary>u16 count, then the tensors; nothing after them.</summary>
    public static IReadOnlyList<WireTensor> ReadResult(WireFrame frame)
    {
        Expect(frame, WireFrameType.Result);
        var cursor = new Cursor(frame.Payload, "Result");
        int count = cursor.U16();
        var tensors = new WireTensor[count];
        for (int i = 0; i < count; i++)
        {
            tensors[i] = ReadTensor(ref cursor);
        }

        cursor.ExpectEnd();
        return tensors;
    }

    /// <summary>u8 kind (0-7) | UTF-8 message (the rest of the payload).</summary>
    public static (WireErrorKind Kind, string Message) ReadError(WireFrame frame)
    {
        Expect(frame, WireFrameType.Error);
        var cursor = new Cursor(frame.Payload, "Error");
        byte kind = cursor.U8();
        Assert.True(kind <= (byte)WireErrorKind.WorkerCrashed, $"the Error frame has kind {kind}; kinds are 0-7");
        return ((WireErrorKind)kind, cursor.Utf8(cursor.Remaining, "message"));
    }

    private static void Expect(WireFrame frame, WireFrameType type) =>
        Assert.True(frame.Is(type), $"expected a {type} frame, got {frame}");

    private static WireTensor ReadTensor(ref Cursor cursor)
    {
        string name = cursor.Utf8(cursor.U16(), "tensor name");
        byte type = cursor.U8();
        Assert.True(type <= (byte)WireDataType.Bytes, $"output '{name}' has datatype {type}; datatypes are 0-12");
        var dataType = (WireDataType)type;
        int rank = cursor.U8();
        long[] shape = new long[rank];
        long elements = 1;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = cursor.I64();
            Assert.True(
                shape[d] >= 0 && (shape[d] == 0 || elements <= int.MaxValue / shape[d]),
                $"output '{name}' has dimension {shape[d]}: dimensions are >= 0 and their product at most 2^31-1");
            elements *= shape[d];
        }

        int length = cursor.I32();
        Assert.True(length >= 0 && length <= cursor.Remaining, $"output '{name}' declares {length} data bytes, {cursor.Remaining} remain");
        byte[] data = cursor.Bytes(length);
        if (dataType == WireDataType.Bytes)
        {
            CheckBytesData(name, data, elements);
        }
        else
        {
            Assert.True(
                length == elements * WireLimits.ElementSize(dataType),
                $"output '{name}' has {elements} {WireLimits.ProtocolName(dataType)} elements in {length} bytes");
            if (dataType == WireDataType.Bool)
            {
                Assert.True(Array.TrueForAll(data, b => b <= 1), $"output '{name}' has a BOOL element that is neither 0 nor 1");
            }
        }

        return new WireTensor(name, dataType, shape, data);
    }

    /// <summary>BYTES data is exactly <paramref name="elements"/> times (u32 length, bytes), nothing more.</summary>
    private static void CheckBytesData(string name, byte[] data, long elements)
    {
        int offset = 0;
        for (long e = 0; e < elements; e++)
        {
            Assert.True(data.Length - offset >= 4, $"output '{name}': its data ends before element {e}");
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
            Assert.True(length <= data.Length - offset - 4, $"output '{name}': element {e} runs past the tensor's data");
            offset += 4 + (int)length;
        }

        Assert.True(offset == data.Length, $"output '{name}': {data.Length - offset} data bytes after its {elements} elements");
    }

    /// <summary>Reads fields off a payload, failing the test when one runs past its end.</summary>
    private ref struct Cursor(byte[] payload, string frame)
    {
        private readonly byte[] _payload = payload;
        private readonly string _frame = frame;
        private int _offset;

        public readonly int Remaining => _payload.Length - _offset;

        public byte U8() => Take(1)[0];

        public ushort U16() => BinaryPrimitives.ReadUInt16LittleEndian(Take(2));

        public int I32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public long I64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public byte[] Bytes(int count) => Take(count).ToArray();

        public string Utf8(int count, string what)
        {
            ReadOnlySpan<byte> bytes = Take(count);
            try
            {
                return s_strictUtf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                Assert.Fail($"the {_frame} frame's {what} is not valid UTF-8");
                throw;
            }
        }

        public readonly void ExpectEnd() =>
            Assert.True(Remaining == 0, $"the {_frame} frame has {Remaining} bytes after its last field");

        private ReadOnlySpan<byte> Take(int count)
        {
            Assert.True(count <= Remaining, $"the {_frame} frame ends inside a field ({count} bytes wanted, {Remaining} remain)");
            ReadOnlySpan<byte> span = _payload.AsSpan(_offset, count);
            _offset += count;
            return span;
        }
    }
}
