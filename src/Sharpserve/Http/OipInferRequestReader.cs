using System.Text.Json;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Parses the JSON body of <c>POST /v2/models/{name}/infer</c> with <see cref="Utf8JsonReader"/> and validates
/// it against the model's metadata: every problem is reported as a message naming the field, never an exception
/// escaping to the client as a 500.
/// </summary>
internal static class OipInferRequestReader
{
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Cap on elements per tensor, checked against the declared shape before anything is allocated.</summary>
    public const long MaxElementsPerTensor = 1 << 20;

    public static bool TryRead(ReadOnlySpan<byte> json, ModelMetadata metadata, out OipInferRequest? request, out string? error)
    {
        request = null;
        try
        {
            var reader = new Utf8JsonReader(json, s_options);
            return TryReadRequest(ref reader, json, metadata, out request, out error);
        }
        catch (JsonException ex)
        {
            error = $"malformed JSON: {ex.Message}";
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader throws this for strings that cannot be unescaped (e.g. lone surrogate escapes).
            error = $"malformed JSON string: {ex.Message}";
            return false;
        }
    }

    private static bool TryReadRequest(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ModelMetadata metadata, out OipInferRequest? request, out string? error)
    {
        request = null;
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            error = "the request body must be a JSON object with an 'inputs' array";
            return false;
        }

        string? id = null;
        var parameters = InferenceParameters.Default;
        List<Tensor>? inputs = null;
        List<string>? outputs = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = "'id' must be a string";
                    return false;
                }

                id = reader.GetString();
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                if (!TryReadParameters(ref reader, ref parameters, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                if (!TryReadInputs(ref reader, json, metadata, out inputs, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                if (!TryReadOutputs(ref reader, metadata, out outputs, out error))
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

        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            error = "malformed JSON: unexpected content after the request object";
            return false;
        }

        if (inputs is null)
        {
            error = "the request has no 'inputs' array";
            return false;
        }

        foreach (TensorMetadata expected in metadata.Inputs)
        {
            if (!Contains(inputs, expected.Name))
            {
                error = $"input '{expected.Name}' is missing; model '{metadata.Name}' needs {InputList(metadata)}";
                return false;
            }
        }

        if (outputs is { Count: 0 })
        {
            outputs = null; // as Triton does: an empty 'outputs' asks for every output, like none at all
        }

        request = new OipInferRequest(new InferenceRequest(inputs, parameters, outputs), id, outputs);
        error = null;
        return true;
    }

    private static bool TryReadParameters(ref Utf8JsonReader reader, ref InferenceParameters parameters, out string? error)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = "'parameters' must be a JSON object";
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("k"u8) || reader.ValueTextEquals("top_k"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int k) || (k < 1 && k != -1))
                {
                    error = "parameter 'k' must be -1 (all labels) or a positive integer";
                    return false;
                }

                parameters = parameters with { TopK = k };
            }
            else if (reader.ValueTextEquals("threshold"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetSingle(out float threshold) ||
                    !float.IsFinite(threshold) || threshold < 0f || threshold > 1f)
                {
                    error = "parameter 'threshold' must be a number from 0 to 1";
                    return false;
                }

                parameters = parameters with { Threshold = threshold };
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        error = null;
        return true;
    }

    private static bool TryReadOutputs(ref Utf8JsonReader reader, ModelMetadata metadata, out List<string>? outputs, out string? error)
    {
        outputs = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = "'outputs' must be an array of objects with a 'name'";
            return false;
        }

        outputs = [];
        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            string? name = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        error = "an output's 'name' must be a string";
                        return false;
                    }

                    name = reader.GetString();
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject && HasBinaryDataParameter(ref reader))
                    {
                        error = "the binary tensor extension is not supported yet; ask for JSON outputs";
                        return false;
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (name is null)
            {
                error = "every entry of 'outputs' needs a 'name'";
                return false;
            }

            if (!ContainsOutput(metadata, name))
            {
                error = $"unknown output '{name}'; model '{metadata.Name}' has {OutputList(metadata)}";
                return false;
            }

            if (outputs.Contains(name))
            {
                error = $"output '{name}' is requested more than once";
                return false;
            }

            outputs.Add(name);
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            error = "'outputs' must be an array of objects with a 'name'";
            return false;
        }

        error = null;
        return true;
    }

    private static bool HasBinaryDataParameter(ref Utf8JsonReader reader)
    {
        bool found = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("binary_data"u8) || reader.ValueTextEquals("binary_data_size"u8))
            {
                reader.Read();
                found |= reader.TokenType != JsonTokenType.False;
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return found;
    }

    private static bool TryReadInputs(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ModelMetadata metadata, out List<Tensor>? inputs, out string? error)
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
            if (!TryReadInput(ref reader, json, metadata, out Tensor? tensor, out error))
            {
                return false;
            }

            if (Contains(inputs, tensor!.Name))
            {
                error = $"input '{tensor.Name}' is given twice";
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

    private static bool TryReadInput(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ModelMetadata metadata, out Tensor? tensor, out string? error)
    {
        tensor = null;
        string? name = null;
        TensorDataType? dataType = null;
        List<long>? shape = null;
        int dataStart = 0;
        int dataEnd = 0;
        bool sawData = false;
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
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject && HasBinaryDataParameter(ref reader))
                {
                    error = $"input '{name ?? "?"}': the binary tensor extension is not supported yet; send JSON 'data'";
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

        if (dataType is null || shape is null || !sawData)
        {
            error = $"input '{label}' needs 'datatype', 'shape' and 'data'";
            return false;
        }

        TensorMetadata? expected = FindInput(metadata, name);
        if (expected is null)
        {
            error = $"unknown input '{name}'; model '{metadata.Name}' takes {InputList(metadata)}";
            return false;
        }

        if (expected.DataType != dataType)
        {
            error = $"input '{name}' has datatype {dataType.Value.ToProtocolName()}; model '{metadata.Name}' expects {expected.DataType.ToProtocolName()}";
            return false;
        }

        if (!expected.Accepts(shape))
        {
            error = $"input '{name}' has shape {ShapeText(shape)}; model '{metadata.Name}' expects {ShapeText(expected.Shape)} (-1: any size)";
            return false;
        }

        if (!TryElementCount(shape, out long elements))
        {
            error = $"input '{name}' declares shape {ShapeText(shape)}, more than {MaxElementsPerTensor} elements";
            return false;
        }

        return OipTensorDataReader.TryRead(json[dataStart..dataEnd], name, dataType.Value, [.. shape], elements, out tensor, out error);
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

    private static bool TryElementCount(List<long> shape, out long elements) =>
        TensorDataTypes.TryGetElementCount(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shape), MaxElementsPerTensor, out elements);

    private static TensorMetadata? FindInput(ModelMetadata metadata, string name)
    {
        foreach (TensorMetadata input in metadata.Inputs)
        {
            if (input.Name == name)
            {
                return input;
            }
        }

        return null;
    }

    private static bool ContainsOutput(ModelMetadata metadata, string name)
    {
        foreach (TensorMetadata output in metadata.Outputs)
        {
            if (output.Name == name)
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(List<Tensor> tensors, string name)
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

    private static string InputList(ModelMetadata metadata) => TensorList(metadata.Inputs);

    private static string OutputList(ModelMetadata metadata) => TensorList(metadata.Outputs);

    private static string TensorList(IReadOnlyList<TensorMetadata> tensors)
    {
        var parts = new string[tensors.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = $"'{tensors[i].Name}' ({tensors[i].DataType.ToProtocolName()} {ShapeText(tensors[i].Shape)})";
        }

        return string.Join(", ", parts);
    }

    internal static string ShapeText(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";
}
