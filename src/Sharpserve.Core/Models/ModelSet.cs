using System.Collections.Frozen;

namespace Sharpserve.Core.Models;

/// <summary>
/// One immutable state of a <see cref="ModelRegistry"/>: the served models by name and version, and which of them
/// are still loading. A request reads the registry's current set once and never sees it change under it.
/// </summary>
internal sealed class ModelSet
{
    /// <summary>Per name, its versions in ascending order (<see cref="ModelRegistry.CompareVersions"/>).</summary>
    private readonly FrozenDictionary<string, ServedModel[]> _byName;

    /// <param name="models">Every served (name, version), in the order given.</param>
    /// <param name="loading">Those among them that are loading through the repository API (not counted by readiness).</param>
    /// <param name="nameOrder">The order of names the default model is chosen by: the first name present wins.</param>
    public ModelSet(IReadOnlyList<ServedModel> models, IReadOnlyCollection<ServedModel> loading, IReadOnlyList<string> nameOrder)
    {
        var byName = new Dictionary<string, List<ServedModel>>(StringComparer.Ordinal);
        foreach (ServedModel model in models)
        {
            if (!byName.TryGetValue(model.Name, out List<ServedModel>? versions))
            {
                byName.Add(model.Name, versions = []);
            }

            foreach (ServedModel other in versions)
            {
                if (other.Version == model.Version)
                {
                    throw new ArgumentException($"model '{model.Name}' version '{model.Version}' is given twice", nameof(models));
                }
            }

            versions.Add(model);
        }

        var sorted = new Dictionary<string, ServedModel[]>(byName.Count, StringComparer.Ordinal);
        foreach ((string name, List<ServedModel> versions) in byName)
        {
            versions.Sort(static (a, b) => ModelRegistry.CompareVersions(a.Version, b.Version));
            sorted.Add(name, [.. versions]);
        }

        _byName = sorted.ToFrozenDictionary(StringComparer.Ordinal);
        All = models;
        Loading = loading.ToFrozenSet();
        foreach (string name in nameOrder)
        {
            if (_byName.TryGetValue(name, out ServedModel[]? versions))
            {
                Default = versions[^1];
                break;
            }
        }
    }

    public IReadOnlyList<ServedModel> All { get; }

    public FrozenSet<ServedModel> Loading { get; }

    /// <summary>The highest version of the first name of the name order that is served; null when none is.</summary>
    public ServedModel? Default { get; }

    public bool TryGetVersions(string name, out ServedModel[] versions) => _byName.TryGetValue(name, out versions!);
}
