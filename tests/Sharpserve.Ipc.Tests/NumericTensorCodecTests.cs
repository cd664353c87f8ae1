using System.Buffers;
using Sharpserve.Abstractions;

namespace Sharpserve.Ipc.Tests;

public sealed class NumericTensorCodecTests
{
    public static TheoryData<Tensor> NumericTensors() =>
    [
        Tensor.FromBool("b", [3], [true, false, true]),
        Tensor.FromValues<byte>("u8", TensorDataType.UInt8, [2], [0, 255]),
        Tensor.FromValues<ushort>("u16", TensorDataType.UInt16, [2], [0, 65535]),
        Tensor.FromValues<uint>("u32", TensorDataType.UInt32, [2], [0, uint.MaxValue]),
        Tensor.FromValues<ulong>("u64", TensorDataType.UInt64, [2], [0, ulong.MaxValue]),
        Tensor.FromValues<sbyte>("i8", TensorDataType.Int8, [2], [-128, 127]),
        Tensor.FromValues<short>("i16", TensorDataType.Int16, [2], [short.MinValue, short.MaxValue]),
        Tensor.FromInt32("i32", [2], [int.MinValue, int.MaxValue]),
        Tensor.FromInt64("i64", [1, 2], [long.MinValue, long.MaxValue]),
        Tensor.FromValues<Half>("f16", TensorDataType.Fp16, [2], [(Half)1.5f, Half.MaxValue]),
        Tensor.FromFp64("f64", [2], [Math.PI, -0.0]),
        Tensor.FromRaw("f32", TensorDataType.Fp32, [1], BitConverter.GetBytes(2.5f)),
        Tensor.FromInt64("empty", [0, 3], []),
    ];

    [Theory]
    [MemberData(nameof(NumericTensors))]
    public void ResultFrame_RoundTripsEveryNumericType(Tensor tensor)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteResult(buffer, 5, new InferenceResponse([tensor]));
        var bytes = new ReadOnlySequence<byte>(buffer.WrittenMemory);

        Assert.True(FrameReader.TryRead(ref bytes, out Frame frame));
        Tensor decoded = PayloadReader.ReadResult(frame.Payload).Outputs[0];

        Assert.Equal(tensor.Name, decoded.Name);
        Assert.Equal(tensor.DataType, decoded.DataType);
        Assert.Equal(tensor.Shape, decoded.Shape);
        Assert.Equal(tensor.RawData.ToArray(), decoded.RawData.ToArray());
        Assert.Equal(tensor.ElementCount, decoded.ElementCount);
    }

    [Fact]
    public void DatatypeBytes_AreFrozen()
    {
        // Append-only: the datatype byte on the wire is the enum value (docs/worker-protocol.md).
        Assert.Equal(
            ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64", "BYTES"],
            Enumerable.Range(0, 13).Select(i => ((TensorDataType)i).ToProtocolName()).ToArray());
        Assert.Equal(13, Enum.GetValues<TensorDataType>().Length);
        Assert.Equal([1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 4, 8], Enumerable.Range(0, 12).Select(i => ((TensorDataType)i).ElementSize()).ToArray());
    }

    [Fact]
    public void Int64Tensor_HasTheDocumentedByteLayout()
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteResult(buffer, 0, new InferenceResponse([Tensor.FromInt64("x", [1], [0x0102030405060708])]));
        byte[] payload = buffer.WrittenSpan[Frame.HeaderSize..].ToArray();

        Assert.Equal(
            new byte[]
            {
                1, 0, // one tensor
                1, 0, (byte)'x', // name
                8, 1, // datatype (INT64), rank
                1, 0, 0, 0, 0, 0, 0, 0, // shape
                8, 0, 0, 0, // data bytes
                8, 7, 6, 5, 4, 3, 2, 1,
            },
            payload);
    }

    [Fact]
    public void Fp32Tensor_KeepsTheVersion1ByteLayout()
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.WriteResult(buffer, 0, new InferenceResponse([Tensor.FromFp32("p", [1], [1f])]));

        Assert.Equal(
            new byte[] { 1, 0, 1, 0, (byte)'p', 10, 1, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0x80, 0x3f },
            buffer.WrittenSpan[Frame.HeaderSize..].ToArray());
    }

    [Theory]
    [InlineData((byte)TensorDataType.Int32, 1, 3)] // 3 bytes for one INT32
    [InlineData((byte)TensorDataType.Fp64, 2, 8)] // 8 bytes for two FP64
    [InlineData((byte)TensorDataType.Bool, 1, 1)] // BOOL 2 (below)
    [InlineData((byte)200, 1, 1)] // unknown datatype
    public void MalformedNumericTensor_IsAProtocolError(byte type, long elements, int dataLength)
    {
        var payload = new List<byte> { 1, 0, 1, 0, (byte)'t', type, 1 };
        payload.AddRange(BitConverter.GetBytes(elements));
        payload.AddRange(BitConverter.GetBytes(dataLength));
        payload.AddRange(Enumerable.Repeat((byte)2, dataLength));

        Assert.Throws<IpcProtocolException>(() => PayloadReader.ReadResult(new ReadOnlySequence<byte>(payload.ToArray())));
    }

    [Fact]
    public void GetData_WithTheWrongElementSize_Throws()
    {
        Tensor tensor = Tensor.FromInt64("x", [1], [1]);

        Assert.Equal(1L, tensor.GetData<long>()[0]);
        Assert.Throws<InvalidOperationException>(() => tensor.GetData<int>().Length);
        Assert.Throws<ArgumentException>(() => Tensor.FromRaw("x", TensorDataType.Int32, [2], new byte[7]));
        Assert.Throws<ArgumentException>(() => Tensor.FromRaw("x", TensorDataType.Int32, [long.MaxValue, 2], new byte[8]));
    }
}
