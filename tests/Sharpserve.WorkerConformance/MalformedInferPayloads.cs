namespace Sharpserve.WorkerConformance;

/// <summary>
/// Infer payloads that break docs/worker-protocol.md in one way each, whatever the model: a worker decodes the
/// whole payload before it looks at the model, so each is a protocol error, never a BadInput answer.
/// </summary>
public static class MalformedInferPayloads
{
    private static readonly Dictionary<string, Func<byte[]>> s_payloads = new()
    {
        ["a payload shorter than k and threshold"] = () => new WireWriter().I32(1).U16(0).ToArray(),
        ["a tensor name running past the payload"] = () => Start(1).U16(200).Raw("x"u8).ToArray(),
        ["a datatype code of 13"] = () => Start(1).Name("x").U8(13).U8(1).I64(1).I32(1).U8(0).U16(WireLimits.AllOutputs).ToArray(),
        ["a BOOL element that is 2"] = () => Tensor(WireDataType.Bool, [2], new WireWriter().U8(1).U8(2).ToArray()),
        ["INT32 data of 4 bytes for 2 elements"] = () => Tensor(WireDataType.Int32, [2], new WireWriter().I32(5).ToArray()),
        ["FP64 data of 12 bytes for 1 element"] = () => Tensor(WireDataType.Fp64, [1], new byte[12]),
        ["a negative dimension"] = () => Tensor(WireDataType.Fp32, [-1], []),
        ["a running dimension product over 2^31 - 1 (shape [2^40, 0])"] = () => Tensor(WireDataType.Fp32, [1L << 40, 0], []),
        ["a negative data length"] = () => Start(1).Name("x").U8((byte)WireDataType.Fp32).U8(1).I64(0).I32(-1).U16(WireLimits.AllOutputs).ToArray(),
        ["a data length running past the payload"] = () => Start(1).Name("x").U8((byte)WireDataType.Fp32).U8(1).I64(1).I32(1000).F32(1f).ToArray(),
        ["more dimensions than bytes"] = () => Start(1).Name("x").U8((byte)WireDataType.Fp32).U8(200).I64(1).ToArray(),
        ["a BYTES element running past the payload"] = () => Tensor(WireDataType.Bytes, [1], new WireWriter().U32(1000).Raw("abc"u8).ToArray()),
        ["BYTES data with fewer elements than its shape"] = () => Tensor(WireDataType.Bytes, [3], new WireWriter().U32(3).Raw("abc"u8).ToArray()),
        ["a BYTES data length shorter than its elements"] = () => BytesWithDeclaredLength(4),
        ["a BYTES data length longer than its elements"] = () => BytesWithDeclaredLength(9),
        ["more tensors than it holds"] = () => Start(2).Name("x").U8((byte)WireDataType.Fp32).U8(1).I64(1).I32(4).F32(1f).U16(WireLimits.AllOutputs).ToArray(),
        ["a requested-output name running past the payload"] = () => Start(0).U16(1).U16(50).Raw("y"u8).ToArray(),
        ["no requested-outputs count"] = () => Start(0).ToArray(),
        ["bytes after the requested outputs"] = () => Start(0).U16(WireLimits.AllOutputs).U8(0).ToArray(),
    };

    public static IEnumerable<string> Names => s_payloads.Keys;

    public static byte[] Build(string name) => s_payloads[name]();

    /// <summary>k 1, threshold 0, then the tensor count.</summary>
    private static WireWriter Start(ushort tensors) => new WireWriter().I32(1).F32(0f).U16(tensors);

    /// <summary>One tensor 'x' with the data given (its length as the data length field), every output asked for.</summary>
    private static byte[] Tensor(WireDataType type, long[] shape, byte[] data)
    {
        WireWriter payload = Start(1).Name("x").U8((byte)type).U8((byte)shape.Length);
        foreach (long dim in shape)
        {
            payload.I64(dim);
        }

        return payload.I32(data.Length).Raw(data).U16(WireLimits.AllOutputs).ToArray();
    }

    /// <summary>
    /// One BYTES element "abc" (7 bytes of data: u32 3, "abc") under a data length field of <paramref name="declared"/>,
    /// followed by the requested-outputs count, so a reader that walks the elements and ignores the data length
    /// still finds a plausible frame.
    /// </summary>
    private static byte[] BytesWithDeclaredLength(int declared) =>
        Start(1).Name("x").U8((byte)WireDataType.Bytes).U8(1).I64(1).I32(declared).U32(3).Raw("abc"u8).U16(WireLimits.AllOutputs).ToArray();
}
