using System.Text.Json;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// Parses the JSON body of <c>POST /v2/models/{name}/infer</c> with <see cref="Utf8JsonReader"/> and validates
/// it against the model's metadata: every problem is reported as a message naming the field, never an exception
/// escaping to the client as a 500. With the binary tensor data extension the JSON is followed by the inputs' binary
/// data, which must be claimed exactly by their <c>binary_data_size</c>s (docs/binary-tensor-extension.md).
/// </summary>
internal static class OipInferRequestReader
{
    private static readonly JsonReaderOptions s_options = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>A request that is all JSON.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, ModelMetadata metadata, out OipInferRequest? request, out string? error) =>
        TryRead(json, new OipBinarySection([], headerGiven: false), metadata, out request, out error);

    /// <summary>A request whose JSON is followed by <paramref name="binary"/>, the inputs' binary tensor data.</summary>
    public static bool TryRead(ReadOnlySpan<byte> json, OipBinarySection binary, ModelMetadata metadata, out OipInferRequest? request, out string? error)
    {
        request = null;
        try
        {
            var reader = new Utf8JsonReader(json, s_options);
            if (!TryReadRequest(ref reader, json, ref binary, metadata, out request, out error))
            {
                return false;
            }
        }
        catch (JsonException ex)
        {
            error = $"malformed JSON: {ex.Message}" +
                (binary.HeaderGiven ? $" (the JSON is the first {json.Length} bytes of the body, as the {OipInferenceHeader.Name} header says)" : "");
            return false;
        }
        catch (InvalidOperationException ex)
        {
            // Utf8JsonReader throws this for strings that cannot be unescaped (e.g. lone surrogate escapes).
            error = $"malformed JSON string: {ex.Message}";
            return false;
        }

        if (binary.Remaining != 0)
        {
            // Sizes that leave bytes over: the client and the server would disagree on where some tensor starts.
            error = $"the body has {binary.Length} bytes of binary data after the JSON, but the inputs' 'binary_data_size' add up to {binary.Taken}; " +
                $"{binary.Remaining} bytes belong to no input";
            request = null;
            return false;
        }

        return true;
    }

    private static bool TryReadRequest(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, ref OipBinarySection binary, ModelMetadata metadata, out OipInferRequest? request, out string? error)
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
        List<bool?>? binaryOutputs = null;
        bool binaryDataOutput = false;
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
                if (!TryReadParameters(ref reader, ref parameters, ref binaryDataOutput, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("inputs"u8))
            {
                if (!OipInputReader.TryReadInputs(ref reader, json, ref binary, metadata, out inputs, out error))
                {
                    return false;
                }
            }
            else if (reader.ValueTextEquals("outputs"u8))
            {
                if (!TryReadOutputs(ref reader, metadata, out outputs, out binaryOutputs, out error))
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

        if (!OipRequestValidator.TryCheckComplete(metadata, inputs, out error))
        {
            return false;
        }

        if (outputs is { Count: 0 })
        {
            outputs = null; // as Triton does: an empty 'outputs' asks for every output, like none at all
            binaryOutputs = null;
        }

        request = new OipInferRequest(new InferenceRequest(inputs, parameters, outputs), id, outputs)
        {
            BinaryDataOutput = binaryDataOutput,
            BinaryOutputs = binaryOutputs,
        };
        error = null;
        return true;
    }

    private static bool TryReadParameters(ref Utf8JsonReader reader, ref InferenceParameters parameters, ref bool binaryDataOutput, out string? error)
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
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int k) || !OipRequestValidator.IsTopK(k))
                {
                    error = OipRequestValidator.TopKError;
                    return false;
                }

                parameters = parameters with { TopK = k };
            }
            else if (reader.ValueTextEquals("threshold"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetSingle(out float threshold) || !OipRequestValidator.IsThreshold(threshold))
                {
                    error = OipRequestValidator.ThresholdError;
                    return false;
                }

                parameters = parameters with { Threshold = threshold };
            }
            else if (reader.ValueTextEquals("binary_data_output"u8))
            {
                reader.Read();
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    error = "parameter 'binary_data_output' must be true or false";
                    return false;
                }

                binaryDataOutput = reader.TokenType == JsonTokenType.True;
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

    private static bool TryReadOutputs(ref Utf8JsonReader reader, ModelMetadata metadata, out List<string>? outputs, out List<bool?>? binary, out string? error)
    {
        outputs = null;
        binary = null;
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
            bool? binaryData = null;
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
                    if (!TryReadOutputParameters(ref reader, name, out binaryData, out error))
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

            if (name is null)
            {
                error = "every entry of 'outputs' needs a 'name'";
                return false;
            }

            if (!OipRequestValidator.TryCheckOutput(metadata, name, outputs, out error))
            {
                return false;
            }

            outputs.Add(name);
            if (binaryData is not null)
            {
                binary ??= [];
                while (binary.Count < outputs.Count - 1)
                {
                    binary.Add(null);
                }

                binary.Add(binaryData);
            }
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            error = "'outputs' must be an array of objects with a 'name'";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>An output's 'parameters': <c>binary_data</c>, true or false; other parameters are ignored.</summary>
    private static bool TryReadOutputParameters(ref Utf8JsonReader reader, string? name, out bool? binaryData, out string? error)
    {
        binaryData = null;
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = $"output '{name ?? "?"}': 'parameters' must be a JSON object";
            return false;
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isBinaryData = reader.ValueTextEquals("binary_data"u8);
            reader.Read();
            if (!isBinaryData)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
            {
                error = $"output '{name ?? "?"}': parameter 'binary_data' must be true or false";
                return false;
            }

            binaryData = reader.TokenType == JsonTokenType.True;
        }

        error = null;
        return true;
    }
}
