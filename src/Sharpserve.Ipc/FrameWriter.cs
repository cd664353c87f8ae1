using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Ipc;

/// <summary>
/// Encodes frames into an <see cref="IBufferWriter{T}"/> (a PipeWriter in production). Each method writes one
/// whole frame: header, then payload. Tensors travel as name, datatype, shape and raw little-endian bytes
/// (every numeric type, BOOL as one byte per element); BYTES elements are u32-length-prefixed, as in the OIP
/// binary extension.
/// </summary>
public static class FrameWriter
{
    public static void WriteHello(IBufferWriter<byte> output, int processId, int workerId)
    {
        Span<byte> payload = stackalloc byte[10];
        BinaryPrimitives.WriteUInt16LittleEndian(payload, Frame.ProtocolVersion);
        BinaryPrimitives.WriteInt32LittleEndian(payload[2..], processId);
        BinaryPrimitives.WriteInt32LittleEndian(payload[6..], workerId);
        WriteFrame(output, FrameType.Hello, 0, payload);
    }

    public static void WriteReady(IBufferWriter<byte> output, long mappedBytes)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(payload, mappedBytes);
        WriteFrame(output, FrameType.Ready, 0, payload);
    }

    /// <summary>A frame with no payload: Ping, Pong, Drain, Shutdown.</summary>
    public static void WriteEmpty(IBufferWriter<byte> output, FrameType type, ulong requestId) =>
        WriteFrame(output, type, requestId, []);

    public static void WriteInfer(IBufferWriter<byte> output, ulong requestId, InferenceRequest request)
    {
        int tensors = 2 + TensorsSize(request.Inputs);
        int length = 4 + 4 + tensors + NamesSize(request.Outputs);
        Span<byte> span = BeginFrame(output, FrameType.Infer, requestId, length);
        BinaryPrimitives.WriteInt32LittleEndian(span, request.Parameters.TopK);
        BinaryPrimitives.WriteSingleLittleEndian(span[4..], request.Parameters.Threshold);
        WriteTensors(span[8..], request.Inputs);
        WriteNames(span[(8 + tensors)..], request.Outputs);
        output.Advance(Frame.HeaderSize + length);
    }

    /// <summary>The payload of the Infer frame for <paramref name="request"/>, in bytes; over <see cref="Frame.MaxPayloadSize"/> it cannot be sent.</summary>
    public static long InferPayloadSize(InferenceRequest request) => 4 + 4 + 2 + TensorsSizeUnchecked(request.Inputs) + NamesSize(request.Outputs);

    /// <summary>The payload of the Result frame for <paramref name="response"/>, in bytes; over <see cref="Frame.MaxPayloadSize"/> it cannot be sent.</summary>
    public static long ResultPayloadSize(InferenceResponse response) => 2 + TensorsSizeUnchecked(response.Outputs);

    public static void WriteResult(IBufferWriter<byte> output, ulong requestId, InferenceResponse response)
    {
        int length = 2 + TensorsSize(response.Outputs);
        Span<byte> span = BeginFrame(output, FrameType.Result, requestId, length);
        WriteTensors(span, response.Outputs);
        output.Advance(Frame.HeaderSize + length);
    }

    public static void WriteError(IBufferWriter<byte> output, ulong requestId, InferError error)
    {
        int messageBytes = Encoding.UTF8.GetByteCount(error.Message);
        int length = 1 + messageBytes;
        Span<byte> span = BeginFrame(output, FrameType.Error, requestId, length);
        span[0] = (byte)error.Kind;
        Encoding.UTF8.GetBytes(error.Message, span[1..]);
        output.Advance(Frame.HeaderSize + length);
    }

    private static void WriteFrame(IBufferWriter<byte> output, FrameType type, ulong requestId, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = BeginFrame(output, type, requestId, payload.Length);
        payload.CopyTo(span);
        output.Advance(Frame.HeaderSize + payload.Length);
    }

    /// <summary>Writes the header and returns the payload span; the caller fills it and advances header + length.</summary>
    private static Span<byte> BeginFrame(IBufferWriter<byte> output, FrameType type, ulong requestId, int payloadLength)
    {
        if (payloadLength > Frame.MaxPayloadSize)
        {
            throw new IpcProtocolException($"a {type} frame of {payloadLength} bytes exceeds the limit of {Frame.MaxPayloadSize}");
        }

        Span<byte> span = output.GetSpan(Frame.HeaderSize + payloadLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span, (uint)payloadLength);
        span[4] = (byte)type;
        BinaryPrimitives.WriteUInt64LittleEndian(span[5..], requestId);
        return span.Slice(Frame.HeaderSize, payloadLength);
    }

    private static int TensorsSize(IReadOnlyList<Tensor> tensors)
    {
        long size = TensorsSizeUnchecked(tensors);
        return size > Frame.MaxPayloadSize ? throw new IpcProtocolException($"tensors of {size} bytes exceed the frame limit") : (int)size;
    }

    private static long TensorsSizeUnchecked(IReadOnlyList<Tensor> tensors)
    {
        long size = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            Tensor tensor = tensors[i];
            size += 2 + Encoding.UTF8.GetByteCount(tensor.Name) + 1 + 1 + (8L * tensor.Shape.Length) + 4 + DataSize(tensor);
        }

        return size;
    }

    /// <summary>Requested outputs: u16 count (0xFFFF: all), then u16-length-prefixed UTF-8 names.</summary>
    private static int NamesSize(IReadOnlyList<string>? names)
    {
        int size = 2;
        if (names is not null)
        {
            foreach (string name in names)
            {
                size += 2 + Encoding.UTF8.GetByteCount(name);
            }
        }

        return size;
    }

    private static void WriteNames(Span<byte> span, IReadOnlyList<string>? names)
    {
        if (names is null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(span, Frame.AllOutputs);
            return;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(span, names.Count < Frame.AllOutputs ? (ushort)names.Count : throw new IpcProtocolException("too many requested outputs"));
        int offset = 2;
        foreach (string name in names)
        {
            int length = Encoding.UTF8.GetBytes(name, span[(offset + 2)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], checked((ushort)length));
            offset += 2 + length;
        }
    }

    private static long DataSize(Tensor tensor)
    {
        if (tensor.BytesData is { } elements)
        {
            long size = 0;
            foreach (byte[] element in elements)
            {
                size += 4 + element.Length;
            }

            return size;
        }

        return tensor.RawData.Length;
    }

    private static void WriteTensors(Span<byte> span, IReadOnlyList<Tensor> tensors)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)tensors.Count));
        int offset = 2;
        for (int i = 0; i < tensors.Count; i++)
        {
            Tensor tensor = tensors[i];
            int nameLength = Encoding.UTF8.GetBytes(tensor.Name, span[(offset + 2)..]);
            BinaryPrimitives.WriteUInt16LittleEndian(span[offset..], checked((ushort)nameLength));
            offset += 2 + nameLength;
            span[offset++] = (byte)tensor.DataType;
            span[offset++] = checked((byte)tensor.Shape.Length);
            foreach (long dim in tensor.Shape)
            {
                BinaryPrimitives.WriteInt64LittleEndian(span[offset..], dim);
                offset += 8;
            }

            int dataLength = (int)DataSize(tensor);
            BinaryPrimitives.WriteInt32LittleEndian(span[offset..], dataLength);
            offset += 4;
            if (tensor.BytesData is { } elements)
            {
                foreach (byte[] element in elements)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(span[offset..], element.Length);
                    element.CopyTo(span[(offset + 4)..]);
                    offset += 4 + element.Length;
                }
            }
            else
            {
                // Numeric tensors (FP32 included) already hold little-endian element bytes.
                ReadOnlySpan<byte> raw = tensor.RawData;
                raw.CopyTo(span[offset..]);
                offset += raw.Length;
            }
        }
    }
}
