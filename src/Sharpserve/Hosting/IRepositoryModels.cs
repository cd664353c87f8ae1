namespace Sharpserve.Hosting;

/// <summary>
/// How the repository API reads one model of the repository: scanned as at start (its config.json and version
/// folders), then prepared and opened as the server runs models (thread or process mode, Python through its zygote).
/// </summary>
internal interface IRepositoryModels
{
    /// <summary>The repository's root folder, a full path.</summary>
    string Directory { get; }

    /// <summary>The (name, version)s of model folder <paramref name="name"/> that its version policy serves.</summary>
    /// <exception cref="Abstractions.ModelLoadException">The folder is unusable; the message lists every problem.</exception>
    IReadOnlyList<ModelRepository.Entry> Scan(string name);

    /// <summary>Prepares (model image, ONNX bake) and opens or describes one version, as serve does at start.</summary>
    /// <exception cref="Abstractions.ModelLoadException">The model is unusable; the message says why.</exception>
    /// <exception cref="IOException">The cache directory cannot be written.</exception>
    ModelSource Open(ModelRepository.Entry entry);
}
