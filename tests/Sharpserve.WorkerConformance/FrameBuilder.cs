namespace Sharpserve.WorkerConformance;

/// <summary>
/// Builds the bytes of front → worker frames by hand, field by field as docs/worker-protocol.md lays them out.
/// </summary>
public static class FrameBuilder
{
    /// <summary>The 13-byte header alone: u32 payload length, u8 type, u64 request id.</summary>
    public static byte[] Header(uint payloadLength, byte type, ulong requestId) =>
        new WireWriter().U32(payloadLength).U8(type).U64(requestId).ToArray();

    /// <summary>A whole frame with a type byte as given (also one the protocol does not define).</summary>
    public static byte[] Frame(byte type, ulong requestId, ReadOnlySpan<byte> payload) =>
        new WireWriter().U32((uint)payload.Length).U8(type).U64(requestId).Raw(payload).ToArray();

    public static byte[] Frame(WireFrameType type, ulong requestId, ReadOnlySpan<byte> payload) => Frame((byte)type, requestId, payload);

    public static byte[] Ping(ulong id) => Frame(WireFrameType.Ping, id, []);

    public static byte[] Drain() => Frame(WireFrameType.Drain, 0, []);

    public static byte[] Shutdown() => Frame(WireFrameType.Shutdown, 0, []);

    public static byte[] Infer(ulong requestId, WireRequest request) => Frame(WireFrameType.Infer, requestId, InferPayload(request));

    /// <summary>i32 k | f32 threshold | tensors | requested outputs.</summary>
    public static byte[] InferPayload(WireRequest request)
    {
        var payload = new WireWriter().I32(request.K).F32(request.Threshold);
        WriteTensors(payload, request.Inputs);
        if (request.RequestedOutputs is null)
        {
            payload.U16(WireLimits.AllOutputs);
        }
        else
        {
            payload.U16(checked((ushort)request.RequestedOutputs.Count));
            foreach (string name in request.RequestedOutputs)
            {
                payload.Name(name);
            }
        }

        return payload.ToArray();
    }

    /// <summary>u16 count, then per tensor: name, u8 datatype, u8 rank, i64 per dimension, i32 data length, data.</summary>
    public static void WriteTensors(WireWriter payload, IReadOnlyList<WireTensor> tensors)
    {
        payload.U16(checked((ushort)tensors.Count));
        foreach (WireTensor tensor in tensors)
        {
            WriteTensor(payload, tensor);
        }
    }

    public static void WriteTensor(WireWriter payload, WireTensor tensor)
    {
        payload.Name(tensor.Name).U8((byte)tensor.DataType).U8(checked((byte)tensor.Shape.Count));
        foreach (long dim in tensor.Shape)
        {
            payload.I64(dim);
        }

        payload.I32(tensor.Data.Length).Raw(tensor.Data);
    }
}
