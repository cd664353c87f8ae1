namespace Sharpserve.Backends.Onnx;

/// <summary>What <see cref="OnnxModelValidator"/> found in a model file it accepted.</summary>
/// <param name="Path">The full path of the .onnx file.</param>
/// <param name="ExternalFiles">Full, resolved paths of the external-data files its tensors name (each once).</param>
/// <param name="ExternalTensorCount">Tensors whose data lives in external files.</param>
/// <param name="PrepackedBlobCount">Prepacked weight blobs ONNX Runtime saved next to the tensors (baked models).</param>
internal sealed record OnnxModelFile(string Path, IReadOnlyList<string> ExternalFiles, int ExternalTensorCount, int PrepackedBlobCount = 0);
