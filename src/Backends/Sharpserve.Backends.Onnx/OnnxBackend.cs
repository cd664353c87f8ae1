using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// ONNX models (<c>.onnx</c>) on ONNX Runtime's CPU execution provider. The model file is validated
/// (<see cref="OnnxModelValidator"/>) before ONNX Runtime sees it; preparing bakes its shared prepacked form into the
/// cache directory (<see cref="OnnxBakeCache"/>); one <c>InferenceSession</c> is shared by every executor thread.
/// </summary>
public sealed class OnnxBackend : IModelBackend
{
    internal const string BackendName = "onnxruntime";

    public OnnxBackend()
        : this(new OnnxBackendOptions())
    {
    }

    public OnnxBackend(OnnxBackendOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
    }

    /// <summary>Triton's name for the backend, which model repositories' config.json files use.</summary>
    public string Name => BackendName;

    public string DisplayName => "ONNX";

    public string FormatName => "ONNX .onnx";

    public string DefaultFileName => "model.onnx";

    /// <summary>The settings it bakes and opens models with.</summary>
    public OnnxBackendOptions Options { get; }

    /// <summary>
    /// True for a <c>.onnx</c> file whose first bytes parse as a ModelProto field. Both are needed: many files start
    /// with bytes that parse as some protobuf field, so the extension says the user meant an ONNX model.
    /// </summary>
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

    /// <summary>Checks the model file as loading does before ONNX Runtime sees it (docs/formats/onnx.md).</summary>
    public void Validate(string path) => OnnxModelValidator.Validate(path);

    /// <summary>
    /// Bakes the shared, prepacked form into <see cref="ModelPreparationContext.CacheDirectory"/> and returns the baked
    /// model.onnx; with <see cref="OnnxBackendOptions.Sharing"/> other than prepacked, or when baking fails and
    /// the noprepack fallback is on, the source itself. An already baked model is returned as it is.
    /// </summary>
    public ModelPreparation Prepare(string sourcePath, ModelPreparationContext context)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(context);
        if (context.OutputPath is not null)
        {
            throw new ModelLoadException($"{sourcePath}: ONNX models are baked into the cache directory (--cache-dir), not to --output");
        }

        if (OnnxBakeCache.IsBaked(sourcePath, out OnnxModelFile? baked))
        {
            return new ModelPreparation(baked!.Path, ModelPreparationAction.Reused, "");
        }

        OnnxBackendOptions options = Options with { CacheDirectory = context.CacheDirectory };
        context.Progress?.Report(new ProgressReport("validating the model"));
        OnnxModelFile file = OnnxModelValidator.Validate(sourcePath); // an invalid model fails here, with no fallback
        if (options.Sharing != OnnxWeightSharing.Prepacked)
        {
            return new ModelPreparation(file.Path, ModelPreparationAction.Reused, "");
        }

        try
        {
            OnnxBakeCache.Result result = OnnxBakeCache.Prepare(file, context.CacheDirectory, context.Progress);
            return new ModelPreparation(
                result.Baked.Path, result.Built ? ModelPreparationAction.Built : ModelPreparationAction.Reused, result.Reason);
        }
        catch (ModelLoadException e) when (options.FallbackToNoPrepack)
        {
            options.Log($"{Path.GetFileName(sourcePath)}: baking the shared prepacked form failed, serving with prepacking off (noprepack): {e.Message}");
            return new ModelPreparation(file.Path, ModelPreparationAction.Reused, "");
        }
    }

    /// <summary>
    /// What a process-mode front needs of a model its workers run: the metadata read from the validated graph
    /// (<see cref="OnnxGraphSignature"/>), no ONNX Runtime session (it would fault in every prepacked weight page a
    /// second time). The warm-up request is the first synthesised candidate: the front cannot try them, the workers do.
    /// </summary>
    public ModelDescription Describe(string preparedPath, string modelName)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        ArgumentNullException.ThrowIfNull(modelName);
        OnnxModelFile file = OnnxBakeCache.IsBaked(preparedPath, out OnnxModelFile? baked) ? baked! : OnnxModelValidator.Validate(preparedPath);
        ModelMetadata metadata = OnnxGraphSignature.Read(file.Path, modelName, OnnxModel.Platform);
        return new ModelDescription(metadata, [OnnxModel.MakeWarmupRequest(metadata)], OnnxModel.ExternalBytes(file));
    }

    /// <summary>
    /// Validates the model, then loads it as <see cref="OnnxBackendOptions.Sharing"/> says: by default the baked,
    /// prepacked form from the cache directory (baked first if needed), falling back to prepacking off when
    /// baking fails; without a cache directory, the file as it is. A baked model is loaded as it is.
    /// </summary>
    public IModel Open(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        OnnxBackendOptions options = Options;
        if (OnnxBakeCache.IsBaked(path, out OnnxModelFile? baked))
        {
            // Already the shared form (what 'sharpserve prepare' and 'serve' hand to workers): load it as it is.
            return OnnxModel.Open(baked!, modelName, options, OnnxWeightSharing.Prepacked);
        }

        OnnxModelFile file = OnnxModelValidator.Validate(path);
        string name = Path.GetFileName(file.Path);
        switch (options.Sharing)
        {
            case OnnxWeightSharing.Prepacked when options.CacheDirectory is { } cacheDirectory:
                try
                {
                    return OpenBaked(file, cacheDirectory, modelName, options);
                }
                catch (ModelLoadException e) when (options.FallbackToNoPrepack)
                {
                    options.Log($"{name}: baking the shared prepacked form failed, serving with prepacking off (noprepack: weights shared, kernels slower): {e.Message}");
                    return OnnxModel.Open(file, modelName, options, OnnxWeightSharing.NoPrepack);
                }

            case OnnxWeightSharing.Prepacked:
            case OnnxWeightSharing.Private:
                return OnnxModel.Open(file, modelName, options, OnnxWeightSharing.Private);
            default:
                return OnnxModel.Open(file, modelName, options, OnnxWeightSharing.NoPrepack);
        }
    }

    /// <summary>
    /// The model file and the external data files its tensors name (for a baked model its <c>model.data</c>, which
    /// ONNX Runtime maps).
    /// </summary>
    public IReadOnlyList<string> MappedFiles(string preparedPath)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        OnnxModelFile file = OnnxBakeCache.IsBaked(preparedPath, out OnnxModelFile? baked) ? baked! : OnnxModelValidator.Validate(preparedPath);
        return [file.Path, .. file.ExternalFiles];
    }

    /// <summary>
    /// Bakes <paramref name="path"/> into <see cref="OnnxBackendOptions.CacheDirectory"/> and returns the baked
    /// model's path, whether it was built now, and why.
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

    private static OnnxModel OpenBaked(OnnxModelFile file, string cacheDirectory, string modelName, OnnxBackendOptions options)
    {
        string name = Path.GetFileName(file.Path);
        OnnxBakeCache.Result result = OnnxBakeCache.Prepare(file, cacheDirectory);
        if (result.Built)
        {
            options.Log($"{name}: baked the shared prepacked form into {Path.GetDirectoryName(result.Baked.Path)} ({result.Reason})");
        }

        try
        {
            return OnnxModel.Open(result.Baked, modelName, options, OnnxWeightSharing.Prepacked);
        }
        catch (ModelLoadException e) when (!result.Built)
        {
            // A reused bake that ONNX Runtime cannot load (corrupted after it was written) is baked again, once.
            options.Log($"{name}: the cached baked model does not load ({e.Message}); baking it again");
            OnnxBakeCache.Invalidate(Path.GetDirectoryName(result.Baked.Path)!);
            result = OnnxBakeCache.Prepare(file, cacheDirectory);
            return OnnxModel.Open(result.Baked, modelName, options, OnnxWeightSharing.Prepacked);
        }
    }
}
