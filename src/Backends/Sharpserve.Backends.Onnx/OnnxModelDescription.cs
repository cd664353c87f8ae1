using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// An ONNX model as a process-mode front sees it: metadata and warm-up requests read from the graph
/// (<see cref="OnnxGraphSignature"/>), no ONNX Runtime session. The workers run the model; the front validates,
/// routes and warms the HTTP path, so creating a session here would only cost start-up time and memory.
/// </summary>
internal sealed class OnnxModelDescription : IModel
{
    public OnnxModelDescription(OnnxModelFile file, string modelName)
    {
        Metadata = OnnxGraphSignature.Read(file.Path, modelName, OnnxModel.Platform);
        WarmupRequests = [OnnxModel.MakeWarmupRequest(Metadata)];
        MappedBytes = OnnxModel.ExternalBytes(file);
    }

    public ModelMetadata Metadata { get; }

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    public long MappedBytes { get; }

    public IModelSession CreateSession() =>
        throw new InvalidOperationException($"model '{Metadata.Name}' is only described in this process; its worker processes run it");

    public void Dispose()
    {
    }
}
