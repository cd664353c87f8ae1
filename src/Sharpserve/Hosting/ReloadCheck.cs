using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Hosting;

/// <summary>
/// Whether a reload may roll a served model's workers onto a newly prepared model. The front keeps validating
/// requests against the description it started with, and during the roll-over old and new workers serve side by
/// side, so the new model must take and give exactly the same tensors (<see cref="ModelMetadataDifference"/>);
/// otherwise the reload is refused and the current workers keep serving.
/// </summary>
internal static class ReloadCheck
{
    /// <summary>Null when <paramref name="preparedPath"/> may replace <paramref name="served"/>; else the difference.</summary>
    /// <exception cref="ModelLoadException">The new model is unusable.</exception>
    public static string? Difference(ServedModel served, string preparedPath, Func<string, ModelDescription>? describe = null)
    {
        ArgumentNullException.ThrowIfNull(served);
        ModelDescription candidate = describe?.Invoke(preparedPath) ?? ModelLoader.Describe(preparedPath, served.Name);
        return ModelMetadataDifference.Describe(served.Description.Metadata, candidate.Metadata);
    }
}
