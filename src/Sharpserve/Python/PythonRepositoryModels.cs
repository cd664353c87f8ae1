using Microsoft.Extensions.Logging;
using Sharpserve.Hosting;

namespace Sharpserve.Python;

/// <summary>
/// Opens a model repository's Python models (<c>"backend": "python"</c>): each version folder's code, imported by its
/// own zygote with the version folder first on its path, with the server's interpreter (--python-exe).
/// </summary>
internal sealed class PythonRepositoryModels(string executable, ILogger logger)
{
    /// <exception cref="Abstractions.ModelLoadException">The model cannot be loaded; the message says why.</exception>
    public ModelSource Open(ModelRepository.Entry entry, string pythonEntry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var python = new PythonEntry(pythonEntry, [entry.ModelPath], executable, entry.Name);
        return PythonModelSource.OpenAsync(python, logger, entry.Version).GetAwaiter().GetResult();
    }
}
