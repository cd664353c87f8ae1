using Grpc.Core;
using Sharpserve.Abstractions;

namespace Sharpserve.Grpc;

/// <summary>
/// The one place that turns expected failures into gRPC status codes, as <c>Http/HttpErrors</c> does for HTTP
/// statuses (docs/grpc.md#errors). grpc-dotnet ends a call with a status through <see cref="RpcException"/>, so
/// the error path throws; the success path does not.
/// </summary>
internal static class GrpcErrors
{
    public static StatusCode StatusCodeOf(InferErrorKind kind) => kind switch
    {
        InferErrorKind.BadInput => StatusCode.InvalidArgument,
        InferErrorKind.ModelNotFound => StatusCode.NotFound,
        InferErrorKind.ModelNotReady => StatusCode.Unavailable,
        InferErrorKind.QueueFull => StatusCode.ResourceExhausted,
        InferErrorKind.ShuttingDown => StatusCode.Unavailable,
        InferErrorKind.WorkerCrashed => StatusCode.Unavailable,
        InferErrorKind.ClientClosedRequest => StatusCode.Cancelled,
        InferErrorKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };

    public static RpcException Of(InferError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return new RpcException(new Status(StatusCodeOf(error.Kind), error.Message));
    }

    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
