using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text.Json;
using System.Text.Unicode;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Reads the 'data' array of one OIP JSON input (flat or nested, row-major) once its datatype and shape are
/// known and validated, straight into a buffer of exactly the declared size: numbers are parsed per datatype
/// with range checks (an INT8 300, a fraction for an integer type or an FP32 beyond its range is an error naming
/// the tensor), BOOL takes true/false, BYTES takes UTF-8 strings.
/// </summary>
internal static class OipTensorDataReader
{
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <param name="json">
    /// The 'data' array, from its '[' to its ']' inclusive; or a bare value, accepted for a one-element tensor
    /// (what numpy's <c>tolist()</c> gives for a 0-d array, the usual way clients build a scalar input).
    /// </param>
    /// <param name="elements">The element count of the declared shape, already checked against the limits.</param>
    public static bool TryRead(ReadOnlySpan<byte> json, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        var reader = new Utf8JsonReader(json, s_options);
        if (!reader.Read())
        {
            error = $"input '{name}': 'data' must be an array";
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            if (elements != 1)
            {
                error = $"input '{name}': 'data' must be an array (a bare value is taken only for a one-element tensor; shape {TensorText.Shape(shape)} has {elements} elements)";
                return false;
            }

            // Rare, and one element: wrap it rather than teach both readers a second form.
            byte[] wrapped = new byte[json.Length + 2];
            wrapped[0] = (byte)'[';
            json.CopyTo(wrapped.AsSpan(1));
            wrapped[^1] = (byte)']';
            return TryRead(wrapped, name, dataType, shape, elements, out tensor, out error);
        }

        // Count first, so a short 'data' under a huge declared shape allocates nothing. Nested data must be
        // rectangular and say the declared shape, up to dimensions of 1 ([["a"],["b"]] for shape [2] is fine, the
        // order is the same): [[1,2],[3,4],[5,6]] under shape [2,3] has the right count, but the client meant [3,2].
        Utf8JsonReader counter = reader;
        long scalars = 0;
        Span<long> open = stackalloc long[s_options.MaxDepth + 1]; // elements so far of the array open at each level
        Span<long> level = stackalloc long[s_options.MaxDepth + 1]; // the length every array at that level has
        level.Fill(-1);
        int depth = 1;
        int maxDepth = 1;
        int scalarDepth = 0;
        bool rectangular = true;
        while (counter.Read())
        {
            switch (counter.TokenType)
            {
                case JsonTokenType.StartArray:
                    open[depth - 1]++;
                    open[depth++] = 0;
                    maxDepth = Math.Max(maxDepth, depth);
                    break;
                case JsonTokenType.EndArray:
                    depth--;
                    rectangular &= level[depth] < 0 || level[depth] == open[depth];
                    level[depth] = open[depth];
                    break;
                default:
                    scalars++;
                    open[depth - 1]++;
                    rectangular &= scalarDepth == 0 || scalarDepth == depth;
                    scalarDepth = depth;
                    break;
            }
        }

        if (maxDepth > 1 && !(rectangular && (scalarDepth == 0 || scalarDepth == maxDepth) && SameUpToOnes(level[..maxDepth], shape)))
        {
            error = $"input '{name}': nested 'data' does not have shape {TensorText.Shape(shape)} (send it flat, or nested as the shape)";
            return false;
        }

        if (scalars != elements)
        {
            error = CountMismatch(name, shape, elements, scalars);
            return false;
        }

        return dataType == TensorDataType.Bytes
            ? TryReadStrings(ref reader, name, shape, elements, out tensor, out error)
            : TryReadNumbers(ref reader, name, dataType, shape, elements, out tensor, out error);
    }

    private static bool TryReadStrings(ref Utf8JsonReader reader, string name, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        var values = new byte[elements][];
        long count = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                case JsonTokenType.EndArray:
                    break;
                case JsonTokenType.String:
                    if (count < elements)
                    {
                        if (!TryCopyUtf8(ref reader, out values[count]))
                        {
                            error = $"input '{name}': a string in 'data' is not valid UTF-8";
                            return false;
                        }
                    }

                    count++;
                    break;
                case JsonTokenType.Number:
                case JsonTokenType.True:
                case JsonTokenType.False:
                    error = $"input '{name}' is BYTES, so 'data' must hold strings";
                    return false;
                default:
                    error = $"input '{name}': 'data' may hold only strings, numbers, booleans or nested arrays, found {reader.TokenType}";
                    return false;
            }
        }

        if (count != elements)
        {
            error = CountMismatch(name, shape, elements, count);
            return false;
        }

        tensor = Tensor.FromBytes(name, shape, values);
        error = null;
        return true;
    }

    private static bool TryReadNumbers(ref Utf8JsonReader reader, string name, TensorDataType dataType, long[] shape, long elements, out Tensor? tensor, out string? error)
    {
        tensor = null;
        int size = dataType.ElementSize();
        byte[] data = new byte[elements * size];
        long count = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartArray:
                case JsonTokenType.EndArray:
                    break;
                case JsonTokenType.Number:
                case JsonTokenType.True:
                case JsonTokenType.False:
                    if (count < elements && !TryWriteElement(ref reader, dataType, data.AsSpan((int)(count * size), size)))
                    {
                        error = $"input '{name}': element {count} ({ValueText(ref reader)}) is not a valid {dataType.ToProtocolName()} value";
                        return false;
                    }

                    count++;
                    break;
                case JsonTokenType.String:
                    error = $"input '{name}' is {dataType.ToProtocolName()}, so 'data' must hold {(dataType == TensorDataType.Bool ? "true or false" : "numbers")}";
                    return false;
                default:
                    error = $"input '{name}': 'data' may hold only strings, numbers, booleans or nested arrays, found {reader.TokenType}";
                    return false;
            }
        }

        if (count != elements)
        {
            error = CountMismatch(name, shape, elements, count);
            return false;
        }

        tensor = Tensor.FromRaw(name, dataType, shape, data);
        error = null;
        return true;
    }

    private static bool TryWriteElement(ref Utf8JsonReader reader, TensorDataType dataType, Span<byte> target)
    {
        if (dataType == TensorDataType.Bool)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                return false;
            }

            target[0] = reader.TokenType == JsonTokenType.True ? (byte)1 : (byte)0;
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return false;
        }

        switch (dataType)
        {
            case TensorDataType.Int8: return TryWriteSigned<sbyte>(ref reader, target);
            case TensorDataType.Int16: return TryWriteSigned<short>(ref reader, target);
            case TensorDataType.Int32: return TryWriteSigned<int>(ref reader, target);
            case TensorDataType.Int64: return TryWriteSigned<long>(ref reader, target);
            case TensorDataType.UInt8: return TryWriteUnsigned<byte>(ref reader, target);
            case TensorDataType.UInt16: return TryWriteUnsigned<ushort>(ref reader, target);
            case TensorDataType.UInt32: return TryWriteUnsigned<uint>(ref reader, target);
            case TensorDataType.UInt64: return TryWriteUnsigned<ulong>(ref reader, target);
            case TensorDataType.Fp16:
                if (!reader.TryGetDouble(out double h) || !Half.IsFinite((Half)h))
                {
                    return false;
                }

                BinaryPrimitives.WriteHalfLittleEndian(target, (Half)h);
                return true;
            case TensorDataType.Fp32:
                if (!reader.TryGetDouble(out double f) || !float.IsFinite((float)f))
                {
                    return false;
                }

                BinaryPrimitives.WriteSingleLittleEndian(target, (float)f);
                return true;
            case TensorDataType.Fp64:
                if (!reader.TryGetDouble(out double d) || !double.IsFinite(d))
                {
                    return false;
                }

                BinaryPrimitives.WriteDoubleLittleEndian(target, d);
                return true;
            default:
                return false;
        }
    }

    /// <summary>An integer JSON number (no fraction or exponent) within <typeparamref name="T"/>'s range, written little-endian.</summary>
    private static bool TryWriteSigned<T>(ref Utf8JsonReader reader, Span<byte> target)
        where T : IBinaryInteger<T>, ISignedNumber<T>, IMinMaxValue<T>
    {
        if (!reader.TryGetInt64(out long value) || value < long.CreateTruncating(T.MinValue) || value > long.CreateTruncating(T.MaxValue))
        {
            return false;
        }

        T.CreateTruncating(value).WriteLittleEndian(target);
        return true;
    }

    private static bool TryWriteUnsigned<T>(ref Utf8JsonReader reader, Span<byte> target)
        where T : IBinaryInteger<T>, IUnsignedNumber<T>, IMinMaxValue<T>
    {
        if (!reader.TryGetUInt64(out ulong value) || value > ulong.CreateTruncating(T.MaxValue))
        {
            return false;
        }

        T.CreateTruncating(value).WriteLittleEndian(target);
        return true;
    }

    private static string ValueText(ref Utf8JsonReader reader)
    {
        ReadOnlySpan<byte> value = reader.ValueSpan;
        return System.Text.Encoding.UTF8.GetString(value.Length > 40 ? value[..40] : value);
    }

    /// <summary>Whether two shapes are equal once their dimensions of 1 are dropped (the row-major order is then the same).</summary>
    private static bool SameUpToOnes(ReadOnlySpan<long> nested, long[] shape)
    {
        int a = 0;
        int b = 0;
        while (true)
        {
            while (a < nested.Length && nested[a] == 1)
            {
                a++;
            }

            while (b < shape.Length && shape[b] == 1)
            {
                b++;
            }

            if (a == nested.Length || b == shape.Length)
            {
                return a == nested.Length && b == shape.Length;
            }

            if (nested[a++] != shape[b++])
            {
                return false;
            }
        }
    }

    private static string CountMismatch(string name, long[] shape, long elements, long count) =>
        $"input '{name}' has shape {TensorText.Shape(shape)} ({elements} elements) but 'data' holds {count} values";

    private static bool TryCopyUtf8(ref Utf8JsonReader reader, out byte[] bytes)
    {
        int maxLength = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            bytes = reader.ValueSpan.ToArray();
        }
        else
        {
            byte[] rented = ArrayPool<byte>.Shared.Rent(Math.Max(maxLength, 1));
            try
            {
                int written = reader.CopyString(rented);
                bytes = rented.AsSpan(0, written).ToArray();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        return Utf8.IsValid(bytes);
    }
}
