namespace Sharpserve.Abstractions;

/// <summary>
/// One model format, registered once in the server's backend catalog (Hosting/BackendCatalog). The catalog asks
/// each backend whether it reads a file (<see cref="CanLoad"/>); the chosen backend then prepares the file into the
/// form that is served (<see cref="Prepare"/>), describes that form cheaply for a process-mode front
/// (<see cref="Describe"/>) and opens it to serve (<see cref="Open"/>). Every method that takes a path throws
/// <see cref="ModelLoadException"/>, naming the file, when it is unusable.
/// </summary>
public interface IModelBackend
{
    /// <summary>The name a model repository's config.json gives as "backend", also used in logs, e.g. "fasttext".</summary>
    string Name { get; }

    /// <summary>The name people know the format by, e.g. "fastText".</summary>
    string DisplayName { get; }

    /// <summary>What its model files are, for messages listing the supported formats, e.g. "fastText supervised .bin".</summary>
    string FormatName { get; }

    /// <summary>
    /// The model file of a model repository's version folder, e.g. "model.bin". Its extension is how the catalog
    /// names this backend's files that cannot be read yet (the first bytes decide otherwise).
    /// </summary>
    string DefaultFileName { get; }

    /// <summary>
    /// Cheap check from the file's first bytes (and, where those are weak evidence, its name) whether this backend
    /// reads it: a source model file or its prepared form. Never throws; an unreadable file is not this backend's.
    /// </summary>
    bool CanLoad(string path);

    /// <summary>Checks a model file as <see cref="Prepare"/> does before using it, without writing anything.</summary>
    void Validate(string path);

    /// <summary>
    /// Makes sure a valid, fresh prepared form of <paramref name="sourcePath"/> exists, building it if needed (a
    /// model image through <see cref="ModelPreparationContext.Images"/>, or the backend's own form in
    /// <see cref="ModelPreparationContext.CacheDirectory"/>), and says where it is. The user's file is read only here.
    /// </summary>
    ModelPreparation Prepare(string sourcePath, ModelPreparationContext context);

    /// <summary>
    /// The metadata and warm-up requests of a prepared model, read without creating a session or anything else
    /// serving needs: what a process-mode front holds while its workers run the model. Cheap; nothing stays open.
    /// </summary>
    ModelDescription Describe(string preparedPath, string modelName);

    /// <summary>
    /// Opens a model to serve from its prepared form (what <see cref="Prepare"/> returned) or from a source file as
    /// it is. Its <see cref="IModel.Description"/> equals what <see cref="Describe"/> gives for the same path,
    /// except for warm-up requests the opened model chose by running them.
    /// </summary>
    IModel Open(string path, string modelName);

    /// <summary>
    /// The files a process serving the prepared model maps (full paths, the model itself first): what the memory
    /// reports of <c>/status</c> measure.
    /// </summary>
    IReadOnlyList<string> MappedFiles(string preparedPath);
}
