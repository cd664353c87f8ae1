namespace Sharpserve.Abstractions;

/// <summary>
/// What serving needs to know of a model without running it: its metadata (name, platform, inputs and outputs,
/// which the HTTP layer validates requests against) and the warm-up requests sent through the whole request
/// path before the server turns ready. A process-mode front holds only this (<see cref="IModelBackend.Describe"/>:
/// no session, cheap); an opened <see cref="IModel"/> has one too (<see cref="IModel.Description"/>).
/// </summary>
/// <param name="Metadata">What the Open Inference Protocol's model metadata endpoint reports.</param>
/// <param name="WarmupRequests">Sample requests that exercise the real predict path.</param>
/// <param name="MappedBytes">
/// Bytes of the model a serving process holds in read-only file mappings (shared by every thread and process):
/// the model image, or a baked ONNX model's external data. What <c>/status</c> and <c>/metrics</c> report.
/// </param>
public sealed record ModelDescription(ModelMetadata Metadata, IReadOnlyList<InferenceRequest> WarmupRequests, long MappedBytes)
{
    public string Name => Metadata.Name;
}
