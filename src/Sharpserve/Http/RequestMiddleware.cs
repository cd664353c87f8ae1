using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Sharpserve.Core.Models;
using Sharpserve.Metrics;

namespace Sharpserve.Http;

/// <summary>
/// The first thing every routed request passes through: unknown routes (404) and wrong methods (405 with
/// <c>Allow</c>) get JSON error bodies; Kestrel's own refusals while reading (413, malformed chunked body) and
/// unexpected exceptions become JSON errors; then the request is counted in the metrics and, when on, written to
/// the access log.
/// </summary>
internal sealed partial class RequestMiddleware(
    WarmupGate warmupGate,
    RequestMetrics requests,
    RequestMetrics warmupRequests,
    AccessLog? accessLog,
    ModelRegistry registry,
    long maxRequestBodyBytes,
    ILogger logger)
{
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        Endpoint? endpoint = context.GetEndpoint();
        try
        {
            if (endpoint is null)
            {
                await HttpErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"no endpoint {context.Request.Method} {context.Request.Path}");
            }
            else
            {
                await next(context);
                if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
                {
                    // Routing's own answer for a known path and another method: status and Allow are set, the body is empty.
                    await HttpErrors.WriteAsync(context, StatusCodes.Status405MethodNotAllowed,
                        $"method {context.Request.Method} is not allowed on {context.Request.Path}; allowed: {context.Response.Headers.Allow}");
                }
            }
        }
        catch (BadHttpRequestException ex)
        {
            string message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? $"the request body is larger than the limit of {maxRequestBodyBytes} bytes (--max-body-size)"
                : $"bad request: {ex.Message}";
            context.Response.Headers.Connection = "close"; // the rest of the body is not read
            await HttpErrors.WriteAsync(context, ex.StatusCode, message);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; there is nobody to answer.
        }
        catch (Exception ex)
        {
            Log.UnhandledError(logger, ex, context.Request.Method, context.Request.Path.Value ?? "");
            await HttpErrors.WriteAsync(context, StatusCodes.Status500InternalServerError, "internal server error");
        }

        // Warm-up requests are recorded too, but apart, so the recording code is compiled before the first client.
        bool warmup = warmupGate.IsWarmupRequest(context);
        string route = (endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "unmatched";
        (warmup ? warmupRequests : requests).Record(route, context.Response.StatusCode, start);
        if (accessLog is not null && !warmup)
        {
            accessLog.Record(Entry(context, route, start));
        }
    }

    /// <summary>The line's fields; the model is the one that served the request (by name: its highest version; /labelservice/: the default).</summary>
    private AccessLogEntry Entry(HttpContext context, string route, long start)
    {
        HttpRequest request = context.Request;
        HttpResponse response = context.Response;
        RouteValueDictionary routeValues = request.RouteValues;
        string? model = routeValues.TryGetValue("name", out object? name) ? name as string : null;
        string? version = routeValues.TryGetValue("version", out object? v) ? v as string : null;
        if (model is null && route.StartsWith("/labelservice", StringComparison.Ordinal))
        {
            (model, version) = registry.TryGetDefault(out ServedModel served) ? (served.Name, served.Version) : (null, null);
        }
        else if (model is not null && version is null && registry.TryGet(model, out ServedModel highest))
        {
            version = highest.Version;
        }

        IHeaderDictionary headers = request.Headers;
        return new AccessLogEntry(
            DateTime.UtcNow,
            context.Connection.RemoteIpAddress,
            headers.TryGetValue("X-Forwarded-For", out var forwardedFor) ? forwardedFor.ToString() : null,
            headers.TryGetValue("X-Forwarded-Proto", out var forwardedProto) ? forwardedProto.ToString() : null,
            request.Scheme,
            request.Method,
            context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "",
            request.Protocol,
            response.StatusCode,
            HttpMethods.IsHead(request.Method) ? 0 : response.ContentLength ?? 0,
            Stopwatch.GetElapsedTime(start).TotalSeconds,
            headers.Referer.ToString(),
            headers.UserAgent.ToString(),
            model,
            version);
    }

    private static partial class Log
    {
        [LoggerMessage(3006, LogLevel.Error, "Unhandled error on {Method} {Path}")]
        public static partial void UnhandledError(ILogger logger, Exception exception, string method, string path);
    }
}
