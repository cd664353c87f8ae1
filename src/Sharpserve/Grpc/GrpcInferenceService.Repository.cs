using Grpc.Core;
using Inference;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Sharpserve.Hosting;
using Sharpserve.Http;

namespace Sharpserve.Grpc;

/// <summary>
/// Triton's model repository RPCs (docs/grpc.md), the gRPC face of <c>/v2/repository/...</c>: the index always;
/// load and unload under the same rules as over HTTP (<see cref="AdminGate"/>: <c>--model-control explicit</c>, a
/// peer on this machine, the admin token in the <c>authorization: Bearer TOKEN</c> metadata, a model folder's name).
/// </summary>
internal sealed partial class GrpcInferenceService
{
    /// <summary>Set once the server exists: the service is built with the web host, before it.</summary>
    public RepositoryModelControl? Repository { get; set; }

    public ModelControlOptions ModelControl { get; set; } = new();

    public override Task<RepositoryIndexResponse> RepositoryIndex(RepositoryIndexRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        RepositoryModelControl control = Repository ?? throw new RpcException(new Status(StatusCode.Unavailable, "the server is starting"));
        var response = new RepositoryIndexResponse();
        foreach (RepositoryIndexEntry entry in control.Index(request.Ready))
        {
            response.Models.Add(new RepositoryIndexResponse.Types.ModelIndex
            {
                Name = entry.Name, Version = entry.Version ?? "", State = entry.State, Reason = entry.Reason,
            });
        }

        return Task.FromResult(response);
    }

    public override async Task<RepositoryModelLoadResponse> RepositoryModelLoad(RepositoryModelLoadRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await ControlAsync(request.ModelName, request.Parameters.Keys, context, load: true);
        return new RepositoryModelLoadResponse();
    }

    public override async Task<RepositoryModelUnloadResponse> RepositoryModelUnload(RepositoryModelUnloadRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        await ControlAsync(request.ModelName, request.Parameters.Keys, context, load: false);
        return new RepositoryModelUnloadResponse();
    }

    private async Task ControlAsync(string name, IEnumerable<string> parameters, ServerCallContext context, bool load)
    {
        string operation = load ? "load" : "unload";
        HttpContext http = context.GetHttpContext();
        if (AdminGate.Check(
                ModelControl, http.Features.Get<IConnectionEndPointFeature>()?.LocalEndPoint, http.Connection.RemoteIpAddress,
                context.RequestHeaders.GetValue("authorization"), name, operation) is (int status, string refusal))
        {
            throw new RpcException(new Status(StatusOf(status), refusal));
        }

        if (parameters.FirstOrDefault() is { } parameter)
        {
            // As over HTTP: a request never carries a configuration or a file; the repository's files are the model.
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"parameter '{parameter}' is refused: a model is {operation}ed from its folder of the repository as it is"));
        }

        RepositoryModelControl control = Repository ?? throw new RpcException(new Status(StatusCode.Unavailable, "the server is starting"));
        ControlResult result = load ? await control.LoadAsync(name) : await control.UnloadAsync(name);
        if (result.Error is { } error)
        {
            throw new RpcException(new Status(StatusOf(result.StatusCode), error));
        }
    }

    private static StatusCode StatusOf(int httpStatus) => httpStatus switch
    {
        StatusCodes.Status400BadRequest => StatusCode.InvalidArgument,
        StatusCodes.Status401Unauthorized => StatusCode.Unauthenticated,
        StatusCodes.Status403Forbidden => StatusCode.PermissionDenied,
        StatusCodes.Status404NotFound => StatusCode.NotFound,
        StatusCodes.Status503ServiceUnavailable => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };
}
