using Sharpserve.Abstractions;
using Sharpserve.Backends.FastText;

namespace Sharpserve.Hosting;

/// <summary>Picks the backend that recognises a model file and loads it. Local paths only: never URLs.</summary>
internal static class ModelLoader
{
    private static readonly IModelBackend[] s_backends = [new FastTextBackend()];

    public static IModel Load(string path, string modelName)
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

        foreach (IModelBackend backend in s_backends)
        {
            if (backend.CanLoad(path))
            {
                return backend.Load(path, modelName);
            }
        }

        throw new ModelLoadException($"{path}: not a model format Sharpserve knows (supported: fastText supervised .bin)");
    }
}
