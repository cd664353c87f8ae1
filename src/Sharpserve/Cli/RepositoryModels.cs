using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Hosting;
using Sharpserve.Python;

namespace Sharpserve.Cli;

/// <summary>
/// The repository API's way to a model of the served repository: the start-up scan for one model folder, and the
/// preparing and opening serve does at start (thread or process mode; Python models through their own zygote).
/// </summary>
internal sealed class RepositoryModels(string directory, BackendCatalog catalog, bool inWorkers, PythonRepositoryModels python, ILogger log) : IRepositoryModels
{
    public string Directory { get; } = Path.GetFullPath(directory);

    public IReadOnlyList<ModelRepository.Entry> Scan(string name)
    {
        ModelRepository repository = ModelRepository.ScanOneModel(Directory, name);
        if (repository.Problems.Count > 0)
        {
            throw new ModelLoadException(string.Join("; ", repository.Problems));
        }

        return repository.Entries.Count > 0
            ? repository.Entries
            : throw new ModelLoadException($"{Path.Combine(Directory, name)}: its version policy selects no version");
    }

    /// <summary>The server's batching (--max-batch-size, --batch-delay), which a model's config.json may override.</summary>
    public BatchingOptions Batching { get; init; } = BatchingOptions.Off;

    /// <summary>How <see cref="Batching"/> was set, for messages.</summary>
    public string BatchingSetting { get; init; } = "--max-batch-size";

    public ModelSource Open(ModelRepository.Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        ModelSource source = entry.PythonEntry is { } pythonEntry
            ? python.Open(entry, pythonEntry)
            : ServeCommand.OpenSource(entry.ModelPath, entry.Name, catalog, inWorkers, log) with { Version = entry.Version };
        (source, string? problem) = ServeCommand.WithBatching(entry, source, Batching, BatchingSetting, inWorkers);
        if (problem is not null)
        {
            source.Model?.Dispose();
            source.Resources?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw new ModelLoadException(problem);
        }

        return source;
    }
}
