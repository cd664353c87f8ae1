using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sharpserve.Abstractions;

/// <summary>
/// A named tensor travelling in a request or a response, in row-major order. BYTES tensors hold one byte array
/// per element; FP32 tensors hold a float array; every other numeric type (BOOL, INT8..INT64, UINT8..UINT64,
/// FP16, FP64) holds its elements as one little-endian byte array (<see cref="RawData"/>), read through
/// <see cref="GetData{T}"/>. BOOL elements are one byte each, 0 or 1.
/// </summary>
public sealed class Tensor
{
    private readonly byte[]? _raw;

    private Tensor(string name, TensorDataType dataType, long[] shape, byte[][]? bytes, float[]? fp32, byte[]? raw)
    {
        Name = name;
        DataType = dataType;
        Shape = shape;
        BytesData = bytes;
        Fp32Data = fp32;
        _raw = raw;
    }

    public string Name { get; }

    public TensorDataType DataType { get; }

    public long[] Shape { get; }

    /// <summary>The elements of a BYTES tensor, or null for other types.</summary>
    public byte[][]? BytesData { get; }

    /// <summary>The elements of an FP32 tensor, or null for other types.</summary>
    public float[]? Fp32Data { get; }

    /// <summary>Number of elements (the product of <see cref="Shape"/>).</summary>
    public long ElementCount => BytesData?.Length ?? Fp32Data?.Length ?? (_raw!.Length / TensorDataTypes.ElementSize(DataType));

    /// <summary>
    /// The elements of a numeric tensor as little-endian bytes (FP32 included), or empty for BYTES.
    /// </summary>
    public ReadOnlySpan<byte> RawData =>
        _raw ?? (Fp32Data is { } floats ? MemoryMarshal.AsBytes(floats.AsSpan()) : ReadOnlySpan<byte>.Empty);

    /// <summary>The elements of a numeric tensor as <typeparamref name="T"/>, whose size must be the datatype's element size.</summary>
    /// <exception cref="InvalidOperationException">The tensor is BYTES or <typeparamref name="T"/> has the wrong size.</exception>
    public ReadOnlySpan<T> GetData<T>()
        where T : unmanaged
    {
        if (DataType == TensorDataType.Bytes || Unsafe.SizeOf<T>() != TensorDataTypes.ElementSize(DataType))
        {
            throw new InvalidOperationException($"tensor '{Name}' is {DataType.ToProtocolName()}; it cannot be read as {typeof(T).Name}");
        }

        return MemoryMarshal.Cast<byte, T>(RawData);
    }

    public static Tensor FromBytes(string name, long[] shape, byte[][] elements) =>
        new(name, TensorDataType.Bytes, shape, elements, null, null);

    public static Tensor FromFp32(string name, long[] shape, float[] elements) =>
        new(name, TensorDataType.Fp32, shape, null, elements, null);

    /// <summary>
    /// A numeric tensor over little-endian element bytes, taken without copying. FP32 data is copied into a float
    /// array so <see cref="Fp32Data"/> is always set for FP32.
    /// </summary>
    /// <exception cref="ArgumentException">The type is BYTES, or the byte count is not elements × element size.</exception>
    public static Tensor FromRaw(string name, TensorDataType dataType, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (dataType == TensorDataType.Bytes)
        {
            throw new ArgumentException("BYTES tensors are made with FromBytes", nameof(dataType));
        }

        int size = TensorDataTypes.ElementSize(dataType);
        if (!TensorDataTypes.TryGetElementCount(shape, long.MaxValue / size, out long elements) || elements * size != data.Length)
        {
            throw new ArgumentException(
                $"tensor '{name}' of shape [{string.Join(",", shape)}] needs {(elements < 0 ? "too many" : (elements * size).ToString(System.Globalization.CultureInfo.InvariantCulture))} bytes of {dataType.ToProtocolName()}, got {data.Length}",
                nameof(data));
        }

        if (dataType == TensorDataType.Fp32)
        {
            return new(name, dataType, shape, null, MemoryMarshal.Cast<byte, float>(data).ToArray(), null);
        }

        return new(name, dataType, shape, null, null, data);
    }

    /// <summary>A numeric tensor copied from typed values; the element size of <typeparamref name="T"/> must match the datatype's.</summary>
    public static Tensor FromValues<T>(string name, TensorDataType dataType, long[] shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        if (dataType == TensorDataType.Bytes || Unsafe.SizeOf<T>() != TensorDataTypes.ElementSize(dataType))
        {
            throw new ArgumentException($"{typeof(T).Name} values cannot make a {dataType.ToProtocolName()} tensor", nameof(values));
        }

        return FromRaw(name, dataType, shape, MemoryMarshal.AsBytes(values).ToArray());
    }

    public static Tensor FromInt64(string name, long[] shape, ReadOnlySpan<long> values) => FromValues(name, TensorDataType.Int64, shape, values);

    public static Tensor FromInt32(string name, long[] shape, ReadOnlySpan<int> values) => FromValues(name, TensorDataType.Int32, shape, values);

    public static Tensor FromFp64(string name, long[] shape, ReadOnlySpan<double> values) => FromValues(name, TensorDataType.Fp64, shape, values);

    public static Tensor FromBool(string name, long[] shape, ReadOnlySpan<bool> values)
    {
        byte[] data = new byte[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            data[i] = values[i] ? (byte)1 : (byte)0;
        }

        return FromRaw(name, TensorDataType.Bool, shape, data);
    }
}
