using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Backends.FastText;
using Sharpserve.Backends.Onnx;

namespace Sharpserve.Hosting;

/// <summary>
/// The model formats this build serves: every backend, registered once in <see cref="Default"/>, and the one place
/// that knows them. <see cref="ModelLoader"/> and <see cref="ModelRepository"/> ask it which backend reads a file
/// (from its first bytes, <see cref="IModelBackend.CanLoad"/>), which one a config.json names, and what a model
/// repository's version folder holds; nothing else knows a backend by name or by file extension.
/// </summary>
internal sealed class BackendCatalog
{
    /// <summary>
    /// The registered backends. Their order is the order of every list shown to users (supported formats, default
    /// file names) and of the first-bytes checks, which no two backends pass for one file.
    /// </summary>
    public static BackendCatalog Default
    {
        get
        {
            // The default cache directory follows SHARPSERVE_CACHE_DIR as it is now; the catalog is made once per value.
            string directory = Hosting.CacheDirectory.Get();
            BackendCatalog? current = s_default;
            if (current is null || current.CacheDirectory != directory)
            {
                current = Create(new OnnxBackendOptions { CacheDirectory = directory });
                s_default = current;
            }

            return current;
        }
    }

    private static BackendCatalog? s_default;

    /// <summary>Every backend, with the settings given (parsed and checked once, by the command line or a worker's arguments).</summary>
    public static BackendCatalog Create(OnnxBackendOptions onnx)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        return new([new OnnxBackend(onnx), new FastTextBackend()])
        {
            CacheDirectory = onnx.CacheDirectory ?? Hosting.CacheDirectory.Get(),
            WorkerSettings = onnx.ToSettings(),
        };
    }

    /// <summary>Where prepared models (images, baked ONNX models) are kept.</summary>
    public string CacheDirectory { get; init; } = Hosting.CacheDirectory.Get();

    /// <summary>The settings a worker gets in its arguments to open models as this catalog would (name=value).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> WorkerSettings { get; init; } = [];

    /// <summary>The catalog a worker builds from the settings in its arguments.</summary>
    /// <exception cref="ArgumentException">A setting is malformed.</exception>
    public static BackendCatalog FromWorkerSettings(IEnumerable<KeyValuePair<string, string>> settings) =>
        Create(OnnxBackendOptions.FromSettings(settings));

    /// <param name="backends">Each with its own name and default file name.</param>
    /// <exception cref="ArgumentException">Two backends share a name or a default file name, or there is none.</exception>
    public BackendCatalog(IReadOnlyList<IModelBackend> backends)
    {
        ArgumentNullException.ThrowIfNull(backends);
        if (backends.Count == 0)
        {
            throw new ArgumentException("a catalog needs at least one backend", nameof(backends));
        }

        for (int i = 0; i < backends.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (backends[i].Name == backends[j].Name ||
                    string.Equals(backends[i].DefaultFileName, backends[j].DefaultFileName, StringComparison.OrdinalIgnoreCase))
                {
                    throw new ArgumentException(
                        $"backends '{backends[j].Name}' ({backends[j].DefaultFileName}) and '{backends[i].Name}' ({backends[i].DefaultFileName}) clash", nameof(backends));
                }
            }
        }

        Backends = backends;
    }

    public IReadOnlyList<IModelBackend> Backends { get; }

    /// <summary>For messages: "ONNX .onnx, fastText supervised .bin".</summary>
    public string SupportedFormats => string.Join(", ", Backends.Select(b => b.FormatName));

    /// <summary>The backend that reads <paramref name="path"/> (a model file or its prepared form), from its first bytes; null when none does.</summary>
    public IModelBackend? Find(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        foreach (IModelBackend backend in Backends)
        {
            if (backend.CanLoad(path))
            {
                return backend;
            }
        }

        return null;
    }

    /// <summary>The backend that reads <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">
    /// No backend reads it. For a model image the message says why it is unusable, or which backend (one this build
    /// does not have) wrote it; for anything else it lists the supported formats.
    /// </exception>
    public IModelBackend Get(string path)
    {
        if (Find(path) is { } backend)
        {
            return backend;
        }

        if (ModelImage.HasImageMagic(path))
        {
            using ModelImage image = ModelImage.Open(path); // throws why the image is unusable, naming it
            throw new ModelLoadException(
                $"{Path.GetFileName(path)}: the image was written by the '{image.BackendName}' backend, which this build does not have");
        }

        throw new ModelLoadException($"{path}: not a model format Sharpserve knows (supported: {SupportedFormats})");
    }

    /// <summary>The backend a model repository's config.json names as "backend", e.g. "onnxruntime"; null when none is called so.</summary>
    public IModelBackend? FindByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (IModelBackend backend in Backends)
        {
            if (backend.Name == name)
            {
                return backend;
            }
        }

        return null;
    }

    /// <summary>
    /// The backend whose default file name has the extension of <paramref name="path"/> (model.onnx, weights.onnx):
    /// for a file whose first bytes say nothing yet. Null when no backend's does.
    /// </summary>
    public IModelBackend? FindByFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string extension = Path.GetExtension(path);
        if (extension.Length == 0)
        {
            return null;
        }

        foreach (IModelBackend backend in Backends)
        {
            if (string.Equals(Path.GetExtension(backend.DefaultFileName), extension, StringComparison.OrdinalIgnoreCase))
            {
                return backend;
            }
        }

        return null;
    }
}
