namespace Sharpserve.Abstractions;

/// <summary>
/// A named tensor travelling in a request or a response. BYTES tensors hold one byte array per element;
/// FP32 tensors hold a float array in row-major order. Other element types are added with the backends that
/// need them.
/// </summary>
public sealed class Tensor
{
    private Tensor(string name, TensorDataType dataType, long[] shape, byte[][]? bytes, float[]? fp32)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        BytesData = bytes;
        Fp32Data = fp32;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    /// <summary>The elements of a BYTES tensor, or null for other types.</summary>
    public byte[][]? BytesData { get; }

    /// <summary>The elements of an FP32 tensor, or null for other types.</summary>
    public float[]? Fp32Data { get; }

    public static Tensor FromBytes(string name, long[] shape, byte[][] elements) =>
        new(name, TensorDataType.Bytes, shape, elements, null);

    public static Tensor FromFp32(string name, long[] shape, float[] elements) =>
        new(name, TensorDataType.Fp32, shape, null, elements);
}
