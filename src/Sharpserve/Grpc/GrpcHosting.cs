using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Sharpserve.Grpc;

/// <summary>
/// What the host does to serve gRPC on its own port: the listener speaks HTTP/2 only (prior knowledge, no TLS; a
/// listener offering HTTP/1.1 too would serve HTTP/1.1 to a cleartext client) and marks its connections, so
/// <see cref="GrpcRequestGate"/> can keep the gRPC service off the HTTP port and the HTTP endpoints off this one.
/// </summary>
internal static class GrpcHosting
{
    /// <summary>The key a gRPC listener's connections carry in their items.</summary>
    public const string ConnectionItem = "Sharpserve.GrpcConnection";

    /// <summary>Endpoint metadata of the gRPC service's methods.</summary>
    public static readonly object EndpointMarker = new GrpcEndpointMarker();

    public static void ConfigureListener(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Protocols = HttpProtocols.Http2;
        listen.Use(next => connection =>
        {
            connection.Items[ConnectionItem] = true;
            return next(connection);
        });
    }

    /// <param name="maxMessageBytes">The largest request message (<c>--max-body-size</c>); a larger one is RESOURCE_EXHAUSTED.</param>
    public static void AddServices(IServiceCollection services, long maxMessageBytes)
    {
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = (int)Math.Min(maxMessageBytes, int.MaxValue);
            grpc.MaxSendMessageSize = null; // an answer is as large as the model makes it, as over HTTP
            grpc.IgnoreUnknownServices = true; // no catch-all route on the HTTP port; GrpcRequestGate answers UNIMPLEMENTED
            grpc.EnableDetailedErrors = false;
        });
    }

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapGrpcService<GrpcInferenceService>().WithMetadata(EndpointMarker);

    private sealed class GrpcEndpointMarker;
}
