using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Abstractions;
using Sharpserve.Cli;
using Sharpserve.Core.Models;

namespace Sharpserve.Http;

/// <summary>
/// The Open Inference Protocol v2 (KServe / Triton) HTTP endpoints: JSON, and infer with the binary tensor data
/// extension (docs/binary-tensor-extension.md).
/// </summary>
internal sealed class OipEndpoints(ModelRegistry registry, WarmupGate warmupGate)
{
    public Task LiveAsync(HttpContext context) => WriteJsonAsync(context, StatusCodes.Status200OK, static w =>
    {
        w.WriteStartObject();
        w.WriteBoolean("live"u8, true);
        w.WriteEndObject();
    });

    public Task ReadyAsync(HttpContext context)
    {
        bool ready = registry.IsReady;
        return WriteJsonAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, w =>
        {
            w.WriteStartObject();
            w.WriteBoolean("ready"u8, ready);
            w.WriteEndObject();
        });
    }

    public Task ServerMetadataAsync(HttpContext context) => WriteJsonAsync(context, StatusCodes.Status200OK, static w =>
    {
        w.WriteStartObject();
        w.WriteString("name"u8, "sharpserve"u8);
        w.WriteString("version"u8, CommandLine.Version);
        w.WriteStartArray("extensions"u8);
        w.WriteStringValue("binary_tensor_data"u8);
        w.WriteStringValue("model_repository"u8); // index always; load and unload with --model-control explicit
        w.WriteEndArray();
        w.WriteEndObject();
    });

    public Task ModelMetadataAsync(HttpContext context)
    {
        if (!TryFindModel(context, out ServedModel? model, out InferError? error))
        {
            return HttpErrors.WriteAsync(context, error!);
        }

        IReadOnlyList<ServedModel> versions = context.Request.RouteValues.ContainsKey("version") ? [model!] : registry.Versions(model!.Name);
        return WriteJsonAsync(context, StatusCodes.Status200OK, w => OipResponseWriter.WriteModelMetadata(w, model!, versions));
    }

    public Task ModelReadyAsync(HttpContext context)
    {
        if (!TryFindModel(context, out ServedModel? model, out InferError? error))
        {
            return HttpErrors.WriteAsync(context, error!);
        }

        bool ready = model!.IsReady;
        return WriteJsonAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, w =>
        {
            w.WriteStartObject();
            w.WriteString("name"u8, model.Name);
            w.WriteString("version"u8, model.Version);
            w.WriteBoolean("ready"u8, ready);
            w.WriteEndObject();
        });
    }

    public async Task InferAsync(HttpContext context)
    {
        if (!TryFindModel(context, out ServedModel? model, out InferError? error))
        {
            await HttpErrors.WriteAsync(context, error!);
            return;
        }

        OipInferRequest? request;
        using (RequestBody body = await RequestBody.ReadAsync(context))
        {
            if (body.Length == 0)
            {
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, "the request body is empty; send an OIP JSON infer request");
                return;
            }

            if (!TryReadInferRequest(context, body.Span, model!.Description.Metadata, out request, out string? message))
            {
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, message!);
                return;
            }
        }

        InferResult result = warmupGate.IsWarmupRequest(context)
            ? await model.InferUncheckedAsync(request!.Request, context.RequestAborted)
            : await model.InferAsync(request!.Request, context.RequestAborted);
        if (!result.IsSuccess)
        {
            await HttpErrors.WriteAsync(context, result.Error!);
            return;
        }

        // As Triton does: a body that carries binary data is application/octet-stream, with the JSON's length in
        // Inference-Header-Content-Length; an all-JSON answer is application/json, without that header. Nothing is
        // flushed before ResponseBody.CompleteAsync, so the headers can follow the JSON's length.
        bool binary = OipResponseWriter.HasBinaryOutput(request, result.Response!);
        context.Response.ContentType = binary ? "application/octet-stream" : "application/json";
        long jsonLength;
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            OipResponseWriter.WriteInferResponse(writer, model, request, result.Response!);
            writer.Flush();
            jsonLength = writer.BytesCommitted;
        }

        if (binary)
        {
            context.Response.Headers[OipInferenceHeader.Name] = jsonLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
            OipResponseWriter.WriteBinaryData(context.Response.BodyWriter, request, result.Response!);
        }

        await ResponseBody.CompleteAsync(context, context.RequestAborted);
    }

    /// <summary>
    /// The infer request in <paramref name="body"/>: all JSON, or (binary tensor data extension) JSON of the length the
    /// Inference-Header-Content-Length header gives, then the inputs' binary data.
    /// </summary>
    private static bool TryReadInferRequest(HttpContext context, ReadOnlySpan<byte> body, ModelMetadata metadata, out OipInferRequest? request, out string? message)
    {
        request = null;
        if (!OipInferenceHeader.TryGetJsonLength(context.Request.Headers[OipInferenceHeader.Name], body.Length, out int jsonLength, out bool given, out message))
        {
            return false;
        }

        return OipInferRequestReader.TryRead(body[..jsonLength], new OipBinarySection(body[jsonLength..], given), metadata, out request, out message);
    }

    /// <summary>
    /// The model a route names: with <c>/versions/{version}</c> exactly that version, otherwise the highest served
    /// version of the name.
    /// </summary>
    private bool TryFindModel(HttpContext context, out ServedModel? model, out InferError? error)
    {
        string name = context.Request.RouteValues["name"] as string ?? "";
        if (!registry.TryGet(name, out ServedModel found))
        {
            error = new InferError(InferErrorKind.ModelNotFound, $"unknown model '{name}'");
            model = null;
            return false;
        }

        if (context.Request.RouteValues["version"] is string version && !registry.TryGet(name, version, out found))
        {
            error = new InferError(InferErrorKind.ModelNotFound, $"model '{name}' has no version '{version}' (versions: {VersionList(name)})");
            model = null;
            return false;
        }

        model = found;
        error = null;
        return true;
    }

    /// <summary>"1, 2, 3": the served versions of a name, for error messages (not on the hot path).</summary>
    private string VersionList(string name)
    {
        IReadOnlyList<ServedModel> versions = registry.Versions(name);
        var list = new string[versions.Count];
        for (int i = 0; i < list.Length; i++)
        {
            list[i] = versions[i].Version;
        }

        return string.Join(", ", list);
    }

    private static Task WriteJsonAsync(HttpContext context, int statusCode, Action<Utf8JsonWriter> write)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            write(writer);
        }

        return ResponseBody.CompleteAsync(context).AsTask();
    }
}
