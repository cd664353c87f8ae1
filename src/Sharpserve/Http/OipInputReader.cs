using System.Text.Json;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Reads the 'inputs' array of an OIP infer request: each input's name, datatype and shape, checked against the
/// model's metadata (and the element count against <see cref="MaxElementsPerTensor"/>) before its 'data' is
/// parsed by <see cref="OipTensorDataReader"/>, or its binary data (<c>parameters.binary_data_size</c>, the binary
/// tensor data extension) is cut from the body and read by <see cref="OipBinaryTensorReader"/>. Every problem is a
/// message naming the input.
/// </summary>
internal static class OipInputReader
{
    /// <summary>Cap on elements per tensor, checked against the declared shape before anything is allocated.</summary>
    public const long MaxElementsPerTensor = 1 << 20;

    public static bool TryReadInputs(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref OipBinarySection binary, ModelMetadata metadata, out List<Tensor>? inputs, out string? error)
    {
        inputs = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = "'inputs' must be an array of tensors";
            return false;
        }

        inputs = [];
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            if (!TryReadInput(ref reader, json, ref binary, metadata, out Tensor? tensor, out error))
            {
                return false;
            }

            if (!OipRequestValidator.TryCheckNotGiven(inputs, tensor!.Name, out error))
            {
                return false;
            }

            inputs.Add(tensor);
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            error = "'inputs' must be an array of tensor objects";
            return false;
        }

        error = null;
        return true;
    }

    private static bool TryReadInput(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref OipBinarySection binary, ModelMetadata metadata, out Tensor? tensor, out string? error)
    {
        tensor = null;
        string? name = null;
        TensorDataType? dataType = null;
        List<long>? shape = null;
        int dataStart = 0;
        int dataEnd = 0;
        bool sawData = false;
        long? binarySize = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = "an input's 'name' must be a string";
                    return false;
                }

                name = reader.GetString();
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String || !TryParseDataType(ref reader, out TensorDataType parsed))
                {
                    error = $"input '{name ?? "?"}': 'datatype' must be one of BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES";
                    return false;
                }

                dataType = parsed;
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                if (!TryReadShape(ref reader, out shape))
                {
                    error = $"input '{name ?? "?"}': 'shape' must be an array of non-negative integers";
                    return false;
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                // The datatype may come after the data, so the array is only located here and parsed once the
                // datatype and shape are known and checked (OipTensorDataReader).
                sawData = true;
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.StartArray or JsonTokenType.Number or JsonTokenType.String or JsonTokenType.True or JsonTokenType.False))
                {
                    error = $"input '{name ?? "?"}': 'data' must be an array";
                    return false;
                }

                dataStart = checked((int)reader.TokenStartIndex);
                reader.Skip();
                dataEnd = checked((int)reader.BytesConsumed);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                if (!TryReadParameters(ref reader, name, out binarySize, out error))
                {
                    return false;
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        string label = name ?? "?";
        if (name is null)
        {
            error = "every input needs a 'name'";
            return false;
        }

        if (dataType is null || shape is null || (!sawData && binarySize is null))
        {
            error = $"input '{label}' needs 'datatype', 'shape' and 'data' (or 'parameters': {{\"binary_data_size\": N}} with N bytes of binary data after the JSON)";
            return false;
        }

        if (sawData && binarySize is not null)
        {
            error = $"input '{label}' has both 'data' and 'parameters.binary_data_size'; send its elements one way";
            return false;
        }

        long[] dims = [.. shape];
        if (!OipRequestValidator.TryCheckInput(metadata, name, dataType.Value, dims, out long elements, out error))
        {
            return false;
        }

        if (binarySize is long size)
        {
            // Checked against what is left of the body before anything is cut or allocated.
            if (!binary.TryTake(size, out ReadOnlySpan<byte> blob))
            {
                error = $"input '{name}' has 'binary_data_size' {size}, but only {binary.Remaining} bytes of binary data are left after the JSON" +
                    (binary.Taken > 0 ? " and the inputs before it" : "") +
                    (binary.HeaderGiven ? "" : $" (no {OipInferenceHeader.Name} header: the whole body was taken as JSON)");
                return false;
            }

            return OipBinaryTensorReader.TryRead(blob, name, dataType.Value, dims, elements, out tensor, out error);
        }

        return OipTensorDataReader.TryRead(json[dataStart..dataEnd], name, dataType.Value, dims, elements, out tensor, out error);
    }

    /// <summary>An input's 'parameters': <c>binary_data_size</c>, a whole number of bytes; other parameters are ignored.</summary>
    private static bool TryReadParameters(ref Utf8JsonReader reader, string? name, out long? binarySize, out string? error)
    {
        binarySize = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = $"input '{name ?? "?"}': 'parameters' must be a JSON object";
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isBinarySize = reader.ValueTextEquals("binary_data_size"u8);
            reader.Read();
            if (!isBinarySize)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long size) || size < 0)
            {
                error = $"input '{name ?? "?"}': 'binary_data_size' must be a whole number of bytes, 0 or more, got {TokenText(ref reader)}";
                return false;
            }

            binarySize = size;
        }

        error = null;
        return true;
    }

    private static string TokenText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            return reader.TokenType == JsonTokenType.StartObject ? "an object" : "an array";
        }

        ReadOnlySpan<byte> value = reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan;
        string text = System.Text.Encoding.UTF8.GetString(value.Length > 40 ? value[..40] : value);
        return reader.TokenType == JsonTokenType.String ? $"the string \"{text}\"" : text;
    }

    private static bool TryParseDataType(ref Utf8JsonReader reader, out TensorDataType type)
    {
        if (reader.HasValueSequence || reader.ValueIsEscaped)
        {
            return TensorDataTypes.TryParse(System.Text.Encoding.UTF8.GetBytes(reader.GetString()!), out type);
        }

        return TensorDataTypes.TryParse(reader.ValueSpan, out type);
    }

    private static bool TryReadShape(ref Utf8JsonReader reader, out List<long>? shape)
    {
        shape = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            reader.Skip();
            return false;
        }

        shape = [];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long dim) || dim < 0 || shape.Count >= 16)
            {
                return false;
            }

            shape.Add(dim);
        }

        return true;
    }

    internal static bool Contains(List<Tensor> tensors, string name)
    {
        foreach (Tensor tensor in tensors)
        {
            if (tensor.Name == name)
            {
                return true;
            }
        }

        return false;
    }
}
