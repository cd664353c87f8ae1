using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Sharpserve.Grpc;

/// <summary>
/// The first middleware when gRPC is on: a request on the gRPC port runs the gRPC endpoint it matched and nothing of
/// the HTTP pipeline (its JSON errors, access log and HTTP metrics are HTTP's), counted in by the shutdown drain so
/// SIGTERM waits for it; any other request on that port is UNIMPLEMENTED (a gRPC client) or 404. On the HTTP port
/// a gRPC route is an unknown path, as before gRPC existed.
/// </summary>
internal sealed class GrpcRequestGate(Func<HttpContext, RequestDelegate, Task> countIn)
{
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        bool grpcConnection = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(GrpcHosting.ConnectionItem) == true;
        Endpoint? endpoint = context.GetEndpoint();
        bool grpcEndpoint = endpoint is not null && HasMarker(endpoint);
        if (!grpcConnection)
        {
            if (grpcEndpoint)
            {
                context.SetEndpoint(null); // the HTTP pipeline answers it as any unknown path
            }

            return next(context);
        }

        if (grpcEndpoint && endpoint!.RequestDelegate is { } run)
        {
            // gRPC's own limit (MaxReceiveMessageSize, the same --max-body-size) answers RESOURCE_EXHAUSTED; Kestrel's
            // body limit would cut the stream at the same size plus the 5-byte message header, with no status.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
            {
                bodySize.MaxRequestBodySize = null;
            }

            return countIn(context, run);
        }

        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
        {
            // A trailers-only gRPC answer: the status in the headers.
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "12"; // UNIMPLEMENTED
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString($"{context.Request.Path} is not served here; this port serves inference.GRPCInferenceService");
            return Task.CompletedTask;
        }

        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private static bool HasMarker(Endpoint endpoint)
    {
        foreach (object item in endpoint.Metadata)
        {
            if (ReferenceEquals(item, GrpcHosting.EndpointMarker))
            {
                return true;
            }
        }

        return false;
    }
}
