namespace Sharpserve.Abstractions;

/// <summary>Knows one model format: recognises its files and loads them.</summary>
public interface IModelBackend
{
    /// <summary>Short name used in configuration and logs, e.g. "fasttext".</summary>
    string Name { get; }

    /// <summary>Cheap check (extension, magic bytes) whether this backend can load the file.</summary>
    bool CanLoad(string path);

    /// <summary>Loads a model; throws <see cref="ModelLoadException"/> with a clear message when the file is unusable.</summary>
    IModel Load(string path, string modelName);
}
