using System.Buffers;
using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Ipc;

/// <summary>
/// Decodes frame payloads. Every length is checked against the bytes that are there before anything is
/// allocated; a malformed payload is an <see cref="IpcProtocolException"/>.
/// </summary>
public static class PayloadReader
{
    public static (ushort Version, int ProcessId, int WorkerId) ReadHello(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        ushort version = (ushort)ReadInt16(ref reader);
        int pid = ReadInt32(ref reader);
        int workerId = ReadInt32(ref reader);
        ExpectEnd(ref reader, "Hello");
        return (version, pid, workerId);
    }

    public static long ReadReady(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        long mappedBytes = ReadInt64(ref reader);
        ExpectEnd(ref reader, "Ready");
        return mappedBytes;
    }

    public static InferenceRequest ReadInfer(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        int topK = ReadInt32(ref reader);
        float threshold = BitConverter.Int32BitsToSingle(ReadInt32(ref reader));
        Tensor[] inputs = ReadTensors(ref reader);
        int count = (ushort)ReadInt16(ref reader);
        string[]? outputs = null;
        if (count != Frame.AllOutputs)
        {
            outputs = new string[count];
            for (int i = 0; i < count; i++)
            {
                int nameLength = (ushort)ReadInt16(ref reader);
                outputs[i] = Encoding.UTF8.GetString(ReadBytes(ref reader, nameLength));
            }
        }

        if (reader.Remaining != 0)
        {
            throw new IpcProtocolException($"an Infer frame has {reader.Remaining} bytes after its requested outputs");
        }

        return new InferenceRequest(inputs, new InferenceParameters(topK, threshold), outputs);
    }

    public static InferenceResponse ReadResult(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        var response = new InferenceResponse(ReadTensors(ref reader));
        ExpectEnd(ref reader, "Result");
        return response;
    }

    public static InferError ReadError(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        if (!reader.TryRead(out byte kind) || kind >= (byte)InferErrorKind.ClientClosedRequest)
        {
            throw new IpcProtocolException("error frame without a valid kind");
        }

        string message = Encoding.UTF8.GetString(reader.UnreadSequence);
        return new InferError((InferErrorKind)kind, message);
    }

    private static Tensor[] ReadTensors(ref SequenceReader<byte> reader)
    {
        int count = (ushort)ReadInt16(ref reader);
        var tensors = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            int nameLength = (ushort)ReadInt16(ref reader);
            string name = Encoding.UTF8.GetString(ReadBytes(ref reader, nameLength));
            byte type = ReadByte(ref reader);
            int rank = ReadByte(ref reader);
            long[] shape = new long[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++)
            {
                shape[d] = ReadInt64(ref reader);
                if (shape[d] < 0 || (shape[d] != 0 && elements > int.MaxValue / shape[d]))
                {
                    throw new IpcProtocolException($"tensor '{name}' has an invalid shape");
                }

                elements *= shape[d];
            }

            int dataLength = ReadInt32(ref reader);
            if (dataLength < 0 || dataLength > reader.Remaining)
            {
                throw new IpcProtocolException($"tensor '{name}' declares {dataLength} data bytes, {reader.Remaining} remain");
            }

            tensors[i] = (TensorDataType)type switch
            {
                TensorDataType.Bytes => Tensor.FromBytes(name, shape, ReadElements(ref reader, elements, dataLength, name)),
                TensorDataType.Fp32 => Tensor.FromFp32(name, shape, ReadFloats(ref reader, elements, dataLength, name)),
                > TensorDataType.Bytes => throw new IpcProtocolException($"tensor '{name}' has unsupported datatype {type}"),
                _ => Tensor.FromRaw(name, (TensorDataType)type, shape, ReadRaw(ref reader, (TensorDataType)type, elements, dataLength, name)),
            };
        }

        return tensors;
    }

    /// <summary>
    /// BYTES data: exactly <paramref name="elements"/> u32-length-prefixed elements filling exactly
    /// <paramref name="dataLength"/> bytes, so the tensor ends where its length field says and the next field is read
    /// where the sender wrote it.
    /// </summary>
    private static byte[][] ReadElements(ref SequenceReader<byte> reader, long elements, int dataLength, string name)
    {
        if (elements * 4 > dataLength)
        {
            throw new IpcProtocolException($"tensor '{name}' has {elements} elements in {dataLength} bytes");
        }

        long end = reader.Consumed + dataLength;
        var result = new byte[elements][];
        for (long e = 0; e < elements; e++)
        {
            if (end - reader.Consumed < 4)
            {
                throw new IpcProtocolException($"tensor '{name}' data ends before element {e}");
            }

            int length = ReadInt32(ref reader);
            if (length < 0 || length > end - reader.Consumed)
            {
                throw new IpcProtocolException($"tensor '{name}' element {e} runs past the tensor's data");
            }

            result[e] = ReadBytes(ref reader, length);
        }

        if (reader.Consumed != end)
        {
            throw new IpcProtocolException($"tensor '{name}' has {end - reader.Consumed} data bytes after its {elements} elements");
        }

        return result;
    }

    private static float[] ReadFloats(ref SequenceReader<byte> reader, long elements, int dataLength, string name)
    {
        if (elements * 4 != dataLength)
        {
            throw new IpcProtocolException($"tensor '{name}' has {elements} FP32 elements in {dataLength} bytes");
        }

        float[] values = new float[elements];
        for (long e = 0; e < elements; e++)
        {
            values[e] = BitConverter.Int32BitsToSingle(ReadInt32(ref reader));
        }

        return values;
    }

    private static byte[] ReadRaw(ref SequenceReader<byte> reader, TensorDataType type, long elements, int dataLength, string name)
    {
        if (elements * type.ElementSize() != dataLength)
        {
            throw new IpcProtocolException($"tensor '{name}' has {elements} {type.ToProtocolName()} elements in {dataLength} bytes");
        }

        byte[] data = ReadBytes(ref reader, dataLength);
        if (type == TensorDataType.Bool)
        {
            foreach (byte b in data)
            {
                if (b > 1)
                {
                    throw new IpcProtocolException($"tensor '{name}' has a BOOL element that is neither 0 nor 1");
                }
            }
        }

        return data;
    }

    private static byte[] ReadBytes(ref SequenceReader<byte> reader, int length)
    {
        if (length > reader.Remaining)
        {
            throw new IpcProtocolException("payload truncated");
        }

        byte[] bytes = new byte[length];
        reader.TryCopyTo(bytes);
        reader.Advance(length);
        return bytes;
    }

    private static void ExpectEnd(ref SequenceReader<byte> reader, string frame)
    {
        if (reader.Remaining != 0)
        {
            throw new IpcProtocolException($"a {frame} frame has {reader.Remaining} bytes after its payload");
        }
    }

    private static byte ReadByte(ref SequenceReader<byte> reader) =>
        reader.TryRead(out byte value) ? value : throw new IpcProtocolException("payload truncated");

    private static short ReadInt16(ref SequenceReader<byte> reader) =>
        reader.TryReadLittleEndian(out short value) ? value : throw new IpcProtocolException("payload truncated");

    private static int ReadInt32(ref SequenceReader<byte> reader) =>
        reader.TryReadLittleEndian(out int value) ? value : throw new IpcProtocolException("payload truncated");

    private static long ReadInt64(ref SequenceReader<byte> reader) =>
        reader.TryReadLittleEndian(out long value) ? value : throw new IpcProtocolException("payload truncated");
}
