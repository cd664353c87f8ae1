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

    /// <summary>
    /// Validates the model, then loads it as <see cref="OnnxBackendOptions.Sharing"/> says: by default the baked,
    /// prepacked form from the cache directory (baked first if needed), falling back to prepacking off when
    /// baking fails; without a cache directory, the file as it is.
    /// </summary>
    public IModel Load(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        if (OnnxBakeCache.IsBaked(path, out OnnxModelFile? baked))
        {
            // Already the shared form (what 'sharpserve prepare' and 'serve' hand to workers): load it as it is.
            return OnnxModel.Open(baked!, modelName, Options, OnnxWeightSharing.Prepacked);
        }

        OnnxModelFile file = OnnxModelValidator.Validate(path);
        string name = Path.GetFileName(file.Path);
        switch (Options.Sharing)
        {
            case OnnxWeightSharing.Prepacked when Options.CacheDirectory is { } cacheDirectory:
                try
                {
                    return LoadBaked(file, cacheDirectory, modelName);
                }
                catch (ModelLoadException e) when (Options.FallbackToNoPrepack)
                {
                    Options.Log($"{name}: baking the shared prepacked form failed, serving with prepacking off (noprepack: weights shared, kernels slower): {e.Message}");
                    return OnnxModel.Open(file, modelName, Options, OnnxWeightSharing.NoPrepack);
                }

            case OnnxWeightSharing.Prepacked:
            case OnnxWeightSharing.Private:
                return OnnxModel.Open(file, modelName, Options, OnnxWeightSharing.Private);
            default:
                return OnnxModel.Open(file, modelName, Options, OnnxWeightSharing.NoPrepack);
        }
    }

    /// <summary>
    /// What a process-mode front needs of a model its workers run: the metadata and warm-up requests, read from
    /// the validated graph without creating an ONNX Runtime session (<see cref="OnnxModelDescription"/>).
    /// </summary>
    public IModel Describe(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        OnnxModelFile file = OnnxBakeCache.IsBaked(path, out OnnxModelFile? baked) ? baked! : OnnxModelValidator.Validate(path);
        return new OnnxModelDescription(file, modelName);
    }

    /// <summary>
    /// The external data files <paramref name="path"/>'s tensors name (full paths; for a baked model its
    /// <c>model.data</c>, which ONNX Runtime maps): what a process serving the model maps besides the graph.
    /// </summary>
    /// <exception cref="ModelLoadException">The model is refused by the validator.</exception>
    public static IReadOnlyList<string> ExternalDataFiles(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        return (OnnxBakeCache.IsBaked(path, out OnnxModelFile? baked) ? baked! : OnnxModelValidator.Validate(path)).ExternalFiles;
    }

    /// <summary>Checks the model file as <see cref="Load"/> does before ONNX Runtime sees it; throws <see cref="ModelLoadException"/>.</summary>
    public void Validate(string path) => OnnxModelValidator.Validate(path);

    /// <summary>
    /// Bakes <paramref name="path"/> into <see cref="OnnxBackendOptions.CacheDirectory"/> (for <c>sharpserve
    /// prepare</c>) and returns the baked model's path and whether it was built now.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="progress">Told what is observable of the bake (<see cref="OnnxBakeCache.Prepare"/>); null for nothing.</param>
    public (string BakedPath, bool Built, string Reason) Bake(string path, IProgress<ProgressReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (OnnxBakeCache.IsBaked(path, out OnnxModelFile? baked))
        {
            return (baked!.Path, false, "");
        }

        string cacheDirectory = Options.CacheDirectory ?? throw new InvalidOperationException("no cache directory configured");
        OnnxBakeCache.Result result = OnnxBakeCache.Prepare(OnnxModelValidator.Validate(path), cacheDirectory, progress);
        return (result.Baked.Path, result.Built, result.Reason);
    }

    private OnnxModel LoadBaked(OnnxModelFile file, string cacheDirectory, string modelName)
    {
        string name = Path.GetFileName(file.Path);
        OnnxBakeCache.Result result = OnnxBakeCache.Prepare(file, cacheDirectory);
        if (result.Built)
        {
            Options.Log($"{name}: baked the shared prepacked form into {Path.GetDirectoryName(result.Baked.Path)} ({result.Reason})");
        }

        try
        {
            return OnnxModel.Open(result.Baked, modelName, Options, OnnxWeightSharing.Prepacked);
        }
        catch (ModelLoadException e) when (!result.Built)
        {
            // A reused bake that ONNX Runtime cannot load (corrupted after it was written) is baked again, once.
            Options.Log($"{name}: the cached baked model does not load ({e.Message}); baking it again");
            OnnxBakeCache.Invalidate(Path.GetDirectoryName(result.Baked.Path)!);
            result = OnnxBakeCache.Prepare(file, cacheDirectory);
            return OnnxModel.Open(result.Baked, modelName, Options, OnnxWeightSharing.Prepacked);
        }
    }
}
