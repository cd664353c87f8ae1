using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Sharpserve.Http;

/// <summary>
/// Logs each error response once, never the payload: client mistakes and 503s (not ready yet, queue full: expected
/// back-pressure that a polling or retrying client can cause many times a second) at Information, server-side
/// trouble (500, 504) at Warning.
/// </summary>
internal static partial class ErrorLog
{
    public static void Write(HttpContext context, int statusCode, string message)
    {
        ILogger logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Sharpserve.Http");
        if (statusCode >= 500 && statusCode != StatusCodes.Status503ServiceUnavailable)
        {
            ServerError(logger, context.Request.Method, context.Request.Path.Value ?? "", statusCode, message);
        }
        else
        {
            ClientError(logger, context.Request.Method, context.Request.Path.Value ?? "", statusCode, message);
        }
    }

    [LoggerMessage(2001, LogLevel.Information, "{Method} {Path} -> {Status}: {Message}")]
    private static partial void ClientError(ILogger logger, string method, string path, int status, string message);

    [LoggerMessage(2002, LogLevel.Warning, "{Method} {Path} -> {Status}: {Message}")]
    private static partial void ServerError(ILogger logger, string method, string path, int status, string message);
}
