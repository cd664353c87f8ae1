using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// ONNX models (<c>.onnx</c>) on ONNX Runtime's CPU execution provider. The model file is validated
/// (<see cref="OnnxModelValidator"/>) before ONNX Runtime sees it; one <c>InferenceSession</c> is shared by every
/// executor thread.
/// </summary>
public sealed class OnnxBackend(OnnxBackendOptions options) : IModelBackend
{
    internal const string BackendName = "onnx";

    public OnnxBackend()
        : this(new OnnxBackendOptions())
    {
    }

    public string Name => BackendName;

    public OnnxBackendOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>True for a <c>.onnx</c> file whose first bytes parse as a ModelProto field.</summary>
    public bool CanLoad(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> head = stackalloc byte[64];
            int read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
            return read > 0 && OnnxModelValidator.LooksLikeModelProto(head[..read]);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    public IModel Load(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        OnnxModelFile file = OnnxModelValidator.Validate(path);
        return OnnxModel.Open(file, modelName, Options);
    }
}
