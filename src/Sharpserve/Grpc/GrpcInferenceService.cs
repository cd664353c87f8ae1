using Grpc.Core;
using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Cli;
using Sharpserve.Core.Models;
using Sharpserve.Http;

namespace Sharpserve.Grpc;

/// <summary>
/// KServe's Open Inference Protocol v2 over gRPC (<c>inference.GRPCInferenceService</c>, docs/grpc.md): the same
/// registry, validation and scheduler as the HTTP endpoints (<c>Http/OipEndpoints</c>), so a model answers the
/// same through both. Inference is refused (UNAVAILABLE) before the server is ready and once shutdown has begun,
/// except the server's own warm-up calls (<see cref="WarmupGate"/>'s token in the <c>x-sharpserve-warmup</c> metadata).
/// </summary>
internal sealed partial class GrpcInferenceService(ModelRegistry registry, Func<bool> isShuttingDown) : GRPCInferenceService.GRPCInferenceServiceBase
{
    private static readonly InferError s_shuttingDown =
        new(InferErrorKind.ShuttingDown, "the server is shutting down; send the request to another instance");

    /// <summary>Lets the server's own warm-up calls infer before ready; null lets none through.</summary>
    public WarmupGate? WarmupGate { get; init; }

    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = registry.IsReady });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Task.FromResult(new ModelReadyResponse { Ready = Find(request.Name, request.Version).IsReady });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = "sharpserve", Version = CommandLine.Version, Extensions = { "model_repository" } });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ServedModel model = Find(request.Name, request.Version);
        IReadOnlyList<ServedModel> versions = request.Version.Length > 0 ? [model] : registry.Versions(model.Name);
        return Task.FromResult(GrpcResponseWriter.ModelMetadata(model, versions));
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        bool warmup = WarmupGate is { } gate && gate.IsToken(context.RequestHeaders.GetValue(GrpcWarmupHeader));
        (ModelInferResponse? response, InferError? error) = await InferAsync(request, warmup, context.CancellationToken);
        return response ?? throw GrpcErrors.Of(error!);
    }

    /// <summary>
    /// Triton's streaming inference: each request of the stream is answered in order, a failure as the
    /// <c>error_message</c> of its answer (the stream goes on), as Triton does.
    /// </summary>
    public override async Task ModelStreamInfer(
        IAsyncStreamReader<ModelInferRequest> requestStream, IServerStreamWriter<ModelStreamInferResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            ModelInferRequest request = requestStream.Current;
            (ModelInferResponse? response, InferError? error) = await InferAsync(request, warmup: false, context.CancellationToken);
            await responseStream.WriteAsync(response is not null
                ? new ModelStreamInferResponse { InferResponse = response }
                : new ModelStreamInferResponse
                {
                    ErrorMessage = error!.Message,
                    InferResponse = new ModelInferResponse { ModelName = request.ModelName, ModelVersion = request.ModelVersion, Id = request.Id },
                });
        }
    }

    /// <summary>The warm-up token's metadata key: <see cref="Http.WarmupGate.HeaderName"/>, lower case as gRPC sends keys.</summary>
    public static readonly string GrpcWarmupHeader = Http.WarmupGate.HeaderName.ToLowerInvariant();

    private async Task<(ModelInferResponse? Response, InferError? Error)> InferAsync(ModelInferRequest request, bool warmup, CancellationToken cancellation)
    {
        if (!TryFind(request.ModelName, request.ModelVersion, out ServedModel? model, out InferError? error))
        {
            return (null, error);
        }

        if (isShuttingDown())
        {
            return (null, s_shuttingDown);
        }

        if (!GrpcInferRequestReader.TryRead(request, model!.Description.Metadata, out OipInferRequest? parsed, out string? message))
        {
            return (null, InferError.BadInput(message!));
        }

        InferResult result = warmup
            ? await model.InferUncheckedAsync(parsed!.Request, cancellation)
            : await model.InferAsync(parsed!.Request, cancellation);
        return result.IsSuccess
            ? (GrpcResponseWriter.InferResponse(model, parsed, result.Response!), null)
            : (null, result.Error);
    }

    private ServedModel Find(string name, string version) =>
        TryFind(name, version, out ServedModel? model, out InferError? error) ? model! : throw GrpcErrors.Of(error!);

    /// <summary>The model named, at the version asked for, or at its highest served version when none is.</summary>
    private bool TryFind(string name, string version, out ServedModel? model, out InferError? error)
    {
        model = null;
        if (!registry.TryGet(name, out ServedModel found))
        {
            error = new InferError(InferErrorKind.ModelNotFound, $"unknown model '{name}'");
            return false;
        }

        if (version.Length > 0 && !registry.TryGet(name, version, out found))
        {
            IReadOnlyList<ServedModel> versions = registry.Versions(name);
            var list = new string[versions.Count];
            for (int i = 0; i < list.Length; i++)
            {
                list[i] = versions[i].Version;
            }

            error = new InferError(InferErrorKind.ModelNotFound, $"model '{name}' has no version '{version}' (versions: {string.Join(", ", list)})");
            return false;
        }

        model = found;
        error = null;
        return true;
    }
}
