using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// The one place that turns expected failures into HTTP: status code, Retry-After where a retry helps, and the
/// Open Inference Protocol error body <c>{"error": "..."}</c>.
/// </summary>
internal static class HttpErrors
{
    public static int StatusCodeOf(InferErrorKind kind) => kind switch
    {
        InferErrorKind.BadInput => StatusCodes.Status400BadRequest,
        InferErrorKind.ModelNotFound => StatusCodes.Status404NotFound,
        InferErrorKind.ModelNotReady => StatusCodes.Status503ServiceUnavailable,
        InferErrorKind.QueueFull => StatusCodes.Status503ServiceUnavailable,
        InferErrorKind.ShuttingDown => StatusCodes.Status503ServiceUnavailable,
        InferErrorKind.WorkerCrashed => StatusCodes.Status503ServiceUnavailable,
        InferErrorKind.ClientClosedRequest => StatusCodes.Status499ClientClosedRequest,
        InferErrorKind.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    public static Task WriteAsync(HttpContext context, InferError error)
    {
        if (error.Kind is InferErrorKind.QueueFull or InferErrorKind.ModelNotReady or InferErrorKind.ShuttingDown or InferErrorKind.WorkerCrashed)
        {
            context.Response.Headers.RetryAfter = "1";
        }

        return WriteAsync(context, StatusCodeOf(error.Kind), error.Message);
    }

    public static Task WriteAsync(HttpContext context, int statusCode, string message)
    {
        ErrorLog.Write(context, statusCode, message);
        if (context.Response.HasStarted)
        {
            return Task.CompletedTask;
        }

        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            writer.WriteStartObject();
            writer.WriteString("error"u8, message);
            writer.WriteEndObject();
        }

        return ResponseBody.CompleteAsync(context).AsTask();
    }
}
