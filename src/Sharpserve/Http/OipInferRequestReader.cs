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
                if (!OipInputReader.TryReadInputs(ref reader, json, metadata, out inputs, out error))
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

        if (!OipRequestValidator.TryCheckComplete(metadata, inputs, out error))
        {
            return false;
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

            if (!OipRequestValidator.TryCheckOutput(metadata, name, outputs, out error))
            {
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

    internal static bool HasBinaryDataParameter(ref Utf8JsonReader reader)
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
}
