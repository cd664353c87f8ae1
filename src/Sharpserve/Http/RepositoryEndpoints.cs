using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Hosting;

namespace Sharpserve.Http;

/// <summary>
/// Triton's model repository extension: <c>POST /v2/repository/index</c> (read-only, always on) and
/// <c>POST /v2/repository/models/{name}/load|unload</c>, which need <c>--model-control explicit</c>, a peer on this
/// machine and the admin token, checked in that order. Success is 200 with an empty body, as Triton answers.
/// </summary>
internal sealed class RepositoryEndpoints(RepositoryModelControl control, ModelControlOptions options)
{
    public async Task IndexAsync(HttpContext context)
    {
        bool readyOnly = false;
        using (RequestBody body = await RequestBody.ReadAsync(context))
        {
            if (body.Length > 0 && !TryReadIndexRequest(body.Span, out readyOnly, out string? error))
            {
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, error!);
                return;
            }
        }

        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            writer.WriteStartArray();
            foreach (RepositoryIndexEntry entry in control.Index(readyOnly))
            {
                writer.WriteStartObject();
                writer.WriteString("name"u8, entry.Name);
                if (entry.Version is not null)
                {
                    writer.WriteString("version"u8, entry.Version);
                }

                writer.WriteString("state"u8, entry.State);
                writer.WriteString("reason"u8, entry.Reason);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        await ResponseBody.CompleteAsync(context);
    }

    public Task LoadAsync(HttpContext context) => ControlAsync(context, load: true);

    public Task UnloadAsync(HttpContext context) => ControlAsync(context, load: false);

    private async Task ControlAsync(HttpContext context, bool load)
    {
        string operation = load ? "load" : "unload";
        string name = context.Request.RouteValues["name"] as string ?? "";
        if (AdminGate.Check(options, LocalEndPoint(context), context.Connection.RemoteIpAddress, context.Request.Headers.Authorization, name, operation)
            is (int status, string refusal))
        {
            if (status == StatusCodes.Status401Unauthorized)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
            }

            await HttpErrors.WriteAsync(context, status, refusal);
            return;
        }

        using (RequestBody body = await RequestBody.ReadAsync(context))
        {
            if (body.Length > 0 && !TryReadControlRequest(body.Span, load, out string? error))
            {
                await HttpErrors.WriteAsync(context, StatusCodes.Status400BadRequest, error!);
                return;
            }
        }

        ControlResult result = load ? await control.LoadAsync(name) : await control.UnloadAsync(name);
        if (result.Error is { } message)
        {
            if (result.StatusCode == StatusCodes.Status503ServiceUnavailable)
            {
                context.Response.Headers.RetryAfter = "1";
            }

            await HttpErrors.WriteAsync(context, result.StatusCode, message);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        await ResponseBody.CompleteAsync(context);
    }

    private static System.Net.EndPoint? LocalEndPoint(HttpContext context) =>
        context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionEndPointFeature>()?.LocalEndPoint;

    /// <summary><c>{}</c> or <c>{"ready": true|false}</c>.</summary>
    private static bool TryReadIndexRequest(ReadOnlySpan<byte> json, out bool readyOnly, out string? error)
    {
        readyOnly = false;
        error = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "the index request must be a JSON object, e.g. {\"ready\": true}";
                return false;
            }

            if (document.RootElement.TryGetProperty("ready", out JsonElement ready))
            {
                if (ready.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    error = "\"ready\" must be true or false";
                    return false;
                }

                readyOnly = ready.GetBoolean();
            }

            return true;
        }
        catch (JsonException ex)
        {
            error = $"the request body is not valid JSON: {ex.Message}";
            return false;
        }
    }

    /// <summary>
    /// <c>{}</c> or <c>{"parameters": {...}}</c>. Models come from the repository directory only, so Triton's
    /// <c>config</c> and <c>file:...</c> overrides are refused, as is any parameter this server does not know.
    /// </summary>
    private static bool TryReadControlRequest(ReadOnlySpan<byte> json, bool load, out string? error)
    {
        error = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "the request body must be a JSON object, e.g. {}";
                return false;
            }

            if (!document.RootElement.TryGetProperty("parameters", out JsonElement parameters))
            {
                return true;
            }

            if (parameters.ValueKind != JsonValueKind.Object)
            {
                error = "\"parameters\" must be a JSON object";
                return false;
            }

            foreach (JsonProperty parameter in parameters.EnumerateObject())
            {
                if (parameter.Name == "config" || parameter.Name.StartsWith("file:", StringComparison.Ordinal))
                {
                    error = $"parameter '{parameter.Name}' is refused: models are loaded from the repository directory only, never from a request's config or files";
                    return false;
                }

                if (load || parameter.Name != "unload_dependents")
                {
                    error = $"parameter '{parameter.Name}' is not supported";
                    return false;
                }
            }

            return true;
        }
        catch (JsonException ex)
        {
            error = $"the request body is not valid JSON: {ex.Message}";
            return false;
        }
    }
}
