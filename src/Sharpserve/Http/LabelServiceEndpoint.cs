using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.AspNetCore.Http;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Http;

/// <summary>
/// <c>/labelservice/</c>, compatible with the Flask service it replaces: the body (or <c>?text=</c>) is UTF-8
/// text and the answer is the top label as text/plain. <c>?k=N</c> or <c>Accept: application/json</c> gives
/// <c>{"labels":[...],"probabilities":[...]}</c>. Served by the default model.
/// </summary>
internal sealed class LabelServiceEndpoint(ModelRegistry registry, WarmupGate warmupGate)
{
    public async Task PostAsync(HttpContext context)
    {
        using RequestBody body = await RequestBody.ReadAsync(context);
        if (!registry.TryGetDefault(out ServedModel model))
        {
            await WriteNoModelAsync(context);
            return;
        }

        if (Python.ZygoteDescription.IsDefaultContract(model.Description.Metadata))
        {
            // A Python model gets the body as Flask's request.data: any bytes, as they came; the model decides.
            await PredictPythonAsync(context, model, body.Span.ToArray());
            return;
        }

        if (body.Length == 0)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "the request body is empty; send the text to classify as UTF-8");
            return;
        }

        if (!Utf8.IsValid(body.Span))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "the request body is not valid UTF-8");
            return;
        }

        await ClassifyAsync(context, model, body.Span.ToArray());
    }

    public Task GetAsync(HttpContext context)
    {
        if (!QueryText.TryGet(context.Request.QueryString.Value, "text", out byte[]? text))
        {
            return HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                "?text= is not valid UTF-8 once percent-decoded (or has a '%' without two hex digits)");
        }

        if (text is not { Length: > 0 })
        {
            return HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "give the text as ?text=... or POST it as the request body");
        }

        if (!registry.TryGetDefault(out ServedModel model))
        {
            return WriteNoModelAsync(context);
        }

        return Python.ZygoteDescription.IsDefaultContract(model.Description.Metadata)
            ? PredictPythonAsync(context, model, text)
            : ClassifyAsync(context, model, text);
    }

    /// <summary>Every model was unloaded through the repository API: there is no default model to answer.</summary>
    private static Task WriteNoModelAsync(HttpContext context) =>
        HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, "no model is loaded; load one with POST /v2/repository/models/NAME/load");

    /// <summary>
    /// A Python model's answer (docs/python-backend.md 6.1): what predict returned, as text (<c>label</c>) or as
    /// JSON (<c>json</c>).
    /// </summary>
    private async Task PredictPythonAsync(HttpContext context, ServedModel model, byte[] body)
    {
        var request = new InferenceRequest([Tensor.FromBytes("text", [1], [body])], InferenceParameters.Default);
        InferResult result = warmupGate.IsWarmupRequest(context)
            ? await model.InferUncheckedAsync(request, context.RequestAborted)
            : await model.InferAsync(request, context.RequestAborted);
        if (!result.IsSuccess)
        {
            await HttpErrors.WriteAsync(context, result.Error!);
            return;
        }

        bool json = Find(result.Response!, "json") is not null;
        if ((Find(result.Response!, json ? "json" : "label")?.BytesData) is not [byte[] answer])
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, $"model '{model.Name}' returned no label");
            return;
        }

        context.Response.ContentType = json ? "application/json" : "text/plain; charset=utf-8";
        context.Response.BodyWriter.Write(answer);
        await ResponseBody.CompleteAsync(context, context.RequestAborted);
    }

    private async Task ClassifyAsync(HttpContext context, ServedModel model, byte[] text)
    {
        if (!IsTextClassifier(model.Description.Metadata))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound,
                $"/labelservice/ needs a text classifier; model '{model.Name}' is not one (use /v2/models/{model.Name}/infer)");
            return;
        }

        if (!TryReadQuery(context, out int k, out float threshold, out bool kGiven, out string? error))
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, error!);
            return;
        }

        var request = new InferenceRequest([Tensor.FromBytes("text", [1], [text])], new InferenceParameters(k, threshold));
        InferResult result = warmupGate.IsWarmupRequest(context)
            ? await model.InferUncheckedAsync(request, context.RequestAborted)
            : await model.InferAsync(request, context.RequestAborted);
        if (!result.IsSuccess)
        {
            await HttpErrors.WriteAsync(context, result.Error!);
            return;
        }

        Tensor? labels = Find(result.Response!, "label");
        Tensor? probabilities = Find(result.Response!, "probability");
        if (labels?.BytesData is not { } labelData || probabilities?.Fp32Data is not { } probabilityData)
        {
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, $"model '{model.Name}' returned no labels");
            return;
        }

        if (kGiven || WantsJson(context))
        {
            context.Response.ContentType = "application/json";
            using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("labels"u8);
                for (int i = 0; i < labelData.Length && labelData[i].Length > 0; i++)
                {
                    OipResponseWriter.WriteUtf8String(writer, labelData[i]);
                }

                writer.WriteEndArray();
                writer.WriteStartArray("probabilities"u8);
                for (int i = 0; i < labelData.Length && labelData[i].Length > 0; i++)
                {
                    writer.WriteNumberValue(probabilityData[i]);
                }

                writer.WriteEndArray();
                writer.WriteEndObject();
            }
        }
        else
        {
            context.Response.ContentType = "text/plain; charset=utf-8";
            if (labelData.Length > 0)
            {
                context.Response.BodyWriter.Write(labelData[0]);
            }
        }

        await ResponseBody.CompleteAsync(context, context.RequestAborted);
    }

    private static bool TryReadQuery(HttpContext context, out int k, out float threshold, out bool kGiven, out string? error)
    {
        k = 1;
        threshold = 0f;
        kGiven = false;
        error = null;
        IQueryCollection query = context.Request.Query;
        if (query.TryGetValue("k", out var kValues))
        {
            kGiven = true;
            if (kValues.Count != 1 ||
                !int.TryParse(kValues[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out k) ||
                (k < 1 && k != -1))
            {
                error = $"query parameter k must be -1 (all labels) or a positive integer, got '{kValues}'";
                return false;
            }
        }

        if (query.TryGetValue("threshold", out var thresholdValues) &&
            (thresholdValues.Count != 1 ||
             !float.TryParse(thresholdValues[0], NumberStyles.Float, CultureInfo.InvariantCulture, out threshold) ||
             !float.IsFinite(threshold) || threshold < 0f || threshold > 1f))
        {
            error = $"query parameter threshold must be a number from 0 to 1, got '{thresholdValues}'";
            return false;
        }

        return true;
    }

    private static bool WantsJson(HttpContext context)
    {
        foreach (string? accept in context.Request.Headers.Accept)
        {
            if (accept is not null && accept.Contains("application/json", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A model /labelservice/ can answer with: one BYTES input 'text' of rank 1 that takes one text, and the outputs it
    /// reads, 'label' (BYTES) and 'probability' (FP32). An ONNX model with a string input named 'text' is often
    /// something else (a tokenizer, a label encoder): /labelservice/ is not for it, and warm-up must not call it there.
    /// </summary>
    internal static bool IsTextClassifier(ModelMetadata metadata)
    {
        if (metadata.Inputs.Count != 1 || metadata.Inputs[0] is not { Name: "text", DataType: TensorDataType.Bytes } input ||
            input.Shape.Count != 1 || input.Shape[0] is not (-1 or 1))
        {
            return false;
        }

        bool hasLabel = false;
        bool hasProbability = false;
        foreach (TensorMetadata output in metadata.Outputs)
        {
            hasLabel |= output.Name == "label" && output.DataType == TensorDataType.Bytes;
            hasProbability |= output.Name == "probability" && output.DataType == TensorDataType.Fp32;
        }

        return hasLabel && hasProbability;
    }

    private static Tensor? Find(InferenceResponse response, string name)
    {
        foreach (Tensor output in response.Outputs)
        {
            if (output.Name == name)
            {
                return output;
            }
        }

        return null;
    }
}
