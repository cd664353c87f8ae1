using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Backends.FastText;
using Sharpserve.Backends.Onnx;
using Sharpserve.Core.Images;
using Sharpserve.Demo;

namespace Sharpserve.Hosting;

/// <summary>
/// Turns a model file into something to serve, always through a model image: <see cref="PrepareImage"/> makes
/// sure a valid, fresh image exists (building it from the user's file if needed), <see cref="OpenImage"/> maps
/// it. The user's file is read only while preparing; serving maps only images Sharpserve wrote, so a model file
/// overwritten in place changes nothing until the next prepare. Local paths only: never URLs.
/// </summary>
internal static class ModelLoader
{
    private static readonly IModelImageBackend[] s_backends = [new FastTextBackend()];

    /// <summary>
    /// The path of a valid image for <paramref name="sourcePath"/>, built or rebuilt in the cache directory when
    /// missing or stale. A path that already is a Sharpserve image is checked and returned as it is.
    /// </summary>
    /// <param name="sourcePath">The model file (e.g. a fastText .bin) or an image made by 'sharpserve prepare'.</param>
    /// <param name="cacheDirectory">Where images are kept; null means SHARPSERVE_CACHE_DIR or its default.</param>
    /// <exception cref="ModelLoadException">The model or the image is unusable; the message names the file.</exception>
    public static string PrepareImage(string sourcePath, string? cacheDirectory) =>
        Prepare(sourcePath, cacheDirectory, outputPath: null).ImagePath;

    /// <summary>Maps an image and opens it with the backend that wrote it.</summary>
    /// <exception cref="ModelLoadException">The image is unusable; the message names it.</exception>
    /// <summary>A Sharpserve model image (mapped by a worker, so loading it costs little CPU), not e.g. an ONNX model.</summary>
    public static bool IsModelImage(string preparedPath) => ModelImage.HasImageMagic(preparedPath);

    /// <summary>An ONNX model file (checked from its name and first bytes, nothing is written or loaded).</summary>
    public static bool IsOnnxModel(string path) => new OnnxBackend().CanLoad(path);

    public static IModel OpenImage(string imagePath, string modelName)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        ModelImage image = ModelImage.Open(imagePath);
        foreach (IModelImageBackend backend in s_backends)
        {
            if (backend.Name == image.BackendName)
            {
                return backend.OpenImage(image, modelName);
            }
        }

        image.Dispose();
        throw new ModelLoadException(
            $"{Path.GetFileName(imagePath)}: the image was written by the '{image.BackendName}' backend, which this build does not have");
    }

    /// <summary>
    /// Prepares the image in the default cache directory and opens it. ONNX models are loaded by their own backend:
    /// ONNX Runtime reads the validated file by path (docs/formats/onnx.md).
    /// </summary>
    public static IModel Load(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        CheckLocalFile(path);
        return new OnnxBackend().CanLoad(path)
            ? CreateOnnxBackend(null).Load(path, modelName)
            : OpenImage(PrepareImage(path, null), modelName);
    }

    /// <summary>
    /// Sets ONNX Runtime's intra-op threads per session so that executors × intra-op threads fill the cores
    /// without oversubscribing them: cores / <paramref name="executors"/>, at least 1 (e.g. 1 with the default
    /// one executor per core; 2 for one worker on a 2-core machine, so a batch uses both cores). Written to
    /// SHARPSERVE_ONNX_INTRA_OP_THREADS, which worker processes inherit; an operator's own value wins.
    /// </summary>
    /// <param name="executors">Executor threads of one model in all processes (threads, or workers × worker threads).</param>
    public static void SetDefaultOnnxIntraOpThreads(int executors)
    {
        const string Variable = "SHARPSERVE_ONNX_INTRA_OP_THREADS";
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            int threads = IntraOpThreadsFor(Environment.ProcessorCount, executors);
            Environment.SetEnvironmentVariable(Variable, threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Intra-op threads per session for <paramref name="executors"/> executors on <paramref name="cores"/> cores.</summary>
    public static int IntraOpThreadsFor(int cores, int executors) => Math.Max(1, cores / Math.Max(1, executors));

    /// <summary>
    /// Opens a prepared model (from <see cref="PrepareImage"/>) for the front. In thread mode that is the model
    /// itself; in process mode (<paramref name="inWorkers"/>) the workers run it and the front needs only its
    /// metadata and warm-up requests, so an ONNX model is described from its graph without creating a session
    /// (which would fault in every prepacked weight page a second time).
    /// </summary>
    public static IModel LoadForServing(string preparedPath, string modelName, bool inWorkers)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        CheckLocalFile(preparedPath);
        if (!new OnnxBackend().CanLoad(preparedPath))
        {
            return OpenImage(preparedPath, modelName);
        }

        OnnxBackend backend = CreateOnnxBackend(null);
        return inWorkers ? backend.Describe(preparedPath, modelName) : backend.Load(preparedPath, modelName);
    }

    /// <summary>
    /// ONNX models are not images: preparing one bakes its shared, prepacked form into the cache directory and
    /// returns the baked model.onnx; with SHARPSERVE_ONNX_SHARING other than prepacked, or when baking fails and
    /// the noprepack fallback is on, the source itself.
    /// </summary>
    private static ModelImagePreparation PrepareOnnx(string sourcePath, string? cacheDirectory, string? outputPath, IProgress<ProgressReport>? progress)
    {
        if (outputPath is not null)
        {
            throw new ModelLoadException($"{sourcePath}: ONNX models are baked into the cache directory (--cache-dir), not to --output");
        }

        OnnxBackend backend = CreateOnnxBackend(cacheDirectory);
        progress?.Report(new ProgressReport("validating the model"));
        backend.Validate(sourcePath); // an invalid model fails here, with no fallback
        if (backend.Options.Sharing != OnnxWeightSharing.Prepacked)
        {
            return new ModelImagePreparation(Path.GetFullPath(sourcePath), ModelImagePreparationAction.Reused, "");
        }

        try
        {
            (string bakedPath, bool built, string reason) = backend.Bake(sourcePath, progress);
            return new ModelImagePreparation(bakedPath, built ? ModelImagePreparationAction.Built : ModelImagePreparationAction.Reused, reason);
        }
        catch (ModelLoadException e) when (backend.Options.FallbackToNoPrepack)
        {
            backend.Options.Log($"{Path.GetFileName(sourcePath)}: baking the shared prepacked form failed, serving with prepacking off (noprepack): {e.Message}");
            return new ModelImagePreparation(Path.GetFullPath(sourcePath), ModelImagePreparationAction.Reused, "");
        }
    }

    private static OnnxBackend CreateOnnxBackend(string? cacheDirectory)
    {
        var problems = new List<string>();
        OnnxBackendOptions options = OnnxBackendOptions.FromEnvironment(problems, cacheDirectory ?? CacheDirectory.Get());
        return problems.Count == 0 ? new OnnxBackend(options) : throw new ModelLoadException(string.Join("; ", problems));
    }

    /// <summary>
    /// Prepares into the cache directory, or at <paramref name="outputPath"/> when given, and says what was done.
    /// </summary>
    /// <param name="progress">Told how a build or bake goes, for a display; null (the default) for nothing.</param>
    public static ModelImagePreparation Prepare(string sourcePath, string? cacheDirectory, string? outputPath, IProgress<ProgressReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        CheckLocalFile(sourcePath);
        if (ModelImage.HasImageMagic(sourcePath))
        {
            if (outputPath is not null)
            {
                throw new ModelLoadException($"{sourcePath}: is already a Sharpserve model image");
            }

            ModelImage.Open(sourcePath).Dispose();
            return new ModelImagePreparation(Path.GetFullPath(sourcePath), ModelImagePreparationAction.Reused, "");
        }

        if (new OnnxBackend().CanLoad(sourcePath))
        {
            return PrepareOnnx(sourcePath, cacheDirectory, outputPath, progress);
        }

        IModelImageBackend backend = FindBackend(sourcePath);
        if (outputPath is not null)
        {
            string directory = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
            return new ModelImageCache(directory).PrepareAt(sourcePath, outputPath, backend, progress);
        }

        return new ModelImageCache(cacheDirectory ?? CacheDirectory.Get()).Prepare(sourcePath, backend, progress);
    }

    private static void CheckLocalFile(string path)
    {
        if (path.Contains("://", StringComparison.Ordinal))
        {
            throw new ModelLoadException($"{path}: models are loaded from local files only, not from URLs");
        }

        if (Directory.Exists(path))
        {
            throw new ModelLoadException($"{path}: is a directory; give the model file (e.g. model.bin)");
        }

        if (!File.Exists(path))
        {
            throw new ModelLoadException($"{path}: no such file");
        }
    }

    private static IModelImageBackend FindBackend(string path)
    {
        foreach (IModelImageBackend backend in s_backends)
        {
            if (backend.CanLoad(path))
            {
                return backend;
            }
        }

        throw new ModelLoadException($"{path}: not a model format Sharpserve knows (supported: fastText supervised .bin, ONNX .onnx)");
    }
}
