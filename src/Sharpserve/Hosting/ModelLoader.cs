using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Core.Images;

namespace Sharpserve.Hosting;

/// <summary>
/// Turns a model file into something to serve, through the backend the <see cref="BackendCatalog"/> picks for it:
/// <see cref="Prepare"/> makes sure a valid, fresh prepared form exists (a model image, or ONNX's baked model),
/// building it from the user's file if needed; <see cref="Open"/> opens it to serve and <see cref="Describe"/>
/// describes it without opening it (a process-mode front). The user's file is read only while preparing; serving
/// opens only what Sharpserve prepared, so a model file overwritten in place changes nothing until the next
/// prepare. Local paths only: never URLs.
/// </summary>
internal static class ModelLoader
{
    /// <summary>
    /// The path of a valid prepared form of <paramref name="sourcePath"/>, built or rebuilt in the cache directory
    /// when missing or stale. A path that already is a Sharpserve image is checked and returned as it is.
    /// </summary>
    /// <param name="sourcePath">The model file (e.g. a fastText .bin) or an image made by 'sharpserve prepare'.</param>
    /// <param name="cacheDirectory">Where prepared models are kept; null means SHARPSERVE_CACHE_DIR or its default.</param>
    /// <exception cref="ModelLoadException">The model or the image is unusable; the message names the file.</exception>
    /// <param name="catalog">The backends with their settings; null: the defaults.</param>
    public static string PreparedPath(string sourcePath, string? cacheDirectory, BackendCatalog? catalog = null, IProgress<ProgressReport>? progress = null) =>
        Prepare(sourcePath, cacheDirectory, outputPath: null, catalog, progress).PreparedPath;

    /// <summary>A Sharpserve model image (mapped by a worker, so loading it costs little CPU), not e.g. an ONNX model.</summary>
    public static bool IsModelImage(string preparedPath) => ModelImage.HasImageMagic(preparedPath);

    /// <summary>Opens a prepared model (from <see cref="Prepare"/>) with the backend that reads it, for thread mode and workers.</summary>
    /// <exception cref="ModelLoadException">The model is unusable; the message names it.</exception>
    public static IModel Open(string preparedPath, string modelName, BackendCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        catalog ??= BackendCatalog.Default;
        CheckLocalFile(preparedPath, catalog);
        return catalog.Get(preparedPath).Open(preparedPath, modelName);
    }

    /// <summary>
    /// What a process-mode front needs of a prepared model its workers run: metadata and warm-up requests, read
    /// without a session (an ONNX front would otherwise fault in every prepacked weight page a second time).
    /// </summary>
    /// <exception cref="ModelLoadException">The model is unusable; the message names it.</exception>
    public static ModelDescription Describe(string preparedPath, string modelName, BackendCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        catalog ??= BackendCatalog.Default;
        CheckLocalFile(preparedPath, catalog);
        return catalog.Get(preparedPath).Describe(preparedPath, modelName);
    }

    /// <summary>Prepares the model in the default cache directory (unless it is prepared already) and opens it.</summary>
    /// <exception cref="ModelLoadException">The model is unusable; the message names it.</exception>
    public static IModel Load(string path, string modelName, BackendCatalog? catalog = null) =>
        Open(PreparedPath(path, null, catalog), modelName, catalog);

    /// <summary>
    /// Prepares into the cache directory, or at <paramref name="outputPath"/> when given, and says what was done.
    /// </summary>
    /// <param name="progress">Told how a build or bake goes, for a display; null (the default) for nothing.</param>
    public static ModelPreparation Prepare(
        string sourcePath, string? cacheDirectory, string? outputPath, BackendCatalog? catalog = null, IProgress<ProgressReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        catalog ??= BackendCatalog.Default;
        CheckLocalFile(sourcePath, catalog);
        if (ModelImage.HasImageMagic(sourcePath))
        {
            if (outputPath is not null)
            {
                throw new ModelLoadException($"{sourcePath}: is already a Sharpserve model image");
            }

            ModelImage.Open(sourcePath).Dispose();
            return new ModelPreparation(Path.GetFullPath(sourcePath), ModelPreparationAction.Reused, "");
        }

        IModelBackend backend = catalog.Get(sourcePath);
        string directory = cacheDirectory ?? catalog.CacheDirectory;
        return backend.Prepare(sourcePath, new ModelPreparationContext(directory, new ModelImageCache(directory), outputPath, progress));
    }

    private static void CheckLocalFile(string path, BackendCatalog catalog)
    {
        if (path.Contains("://", StringComparison.Ordinal))
        {
            throw new ModelLoadException($"{path}: models are loaded from local files only, not from URLs");
        }

        if (Directory.Exists(path))
        {
            throw new ModelLoadException($"{path}: is a directory; give the model file (e.g. {string.Join(" or ", catalog.Backends.Select(b => b.DefaultFileName))})");
        }

        if (!File.Exists(path))
        {
            throw new ModelLoadException($"{path}: no such file");
        }
    }
}
