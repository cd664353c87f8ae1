using Microsoft.AspNetCore.Http;

namespace Sharpserve.Http;

/// <summary>
/// Ends a response whose body was written whole into <see cref="HttpResponse.BodyWriter"/> without a flush: the
/// body's length is known before the head goes out, so it is sent with a Content-Length rather than chunked (fewer
/// bytes, one less parse for the client, and the access log and metrics read the size from the response).
/// </summary>
internal static class ResponseBody
{
    public static ValueTask<System.IO.Pipelines.FlushResult> CompleteAsync(HttpContext context, CancellationToken cancellation = default)
    {
        HttpResponse response = context.Response;
        if (!response.HasStarted && response.BodyWriter.CanGetUnflushedBytes && !HttpMethods.IsHead(context.Request.Method))
        {
            response.ContentLength = response.BodyWriter.UnflushedBytes;
        }

        return response.BodyWriter.FlushAsync(cancellation);
    }
}
