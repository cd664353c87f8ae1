using System.Collections.Frozen;

namespace Sharpserve.Core.Models;

/// <summary>
/// The models this server serves, by name and version. Fixed at start in this version (no load/unload yet). A
/// name may have several versions (a model repository's version folders); a lookup by name alone finds the
/// highest version, as the Open Inference Protocol leaves the choice to the server.
/// </summary>
public sealed class ModelRegistry : IAsyncDisposable
{
    /// <summary>Per name, its versions in ascending order (<see cref="CompareVersions"/>).</summary>
    private readonly FrozenDictionary<string, ServedModel[]> _models;

    public ModelRegistry(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new ArgumentException("at least one model is required", nameof(models));
        }

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
            versions.Sort(static (a, b) => CompareVersions(a.Version, b.Version));
            sorted.Add(name, [.. versions]);
        }

        _models = sorted.ToFrozenDictionary(StringComparer.Ordinal);
        All = models;
        Default = _models[models[0].Name][^1];
    }

    /// <summary>The model served by /labelservice/: the highest version of the first model given.</summary>
    public ServedModel Default { get; }

    /// <summary>Every served (name, version), in the order given.</summary>
    public IReadOnlyList<ServedModel> All { get; }

    /// <summary>The highest version of <paramref name="name"/>.</summary>
    public bool TryGet(string name, out ServedModel model)
    {
        if (_models.TryGetValue(name, out ServedModel[]? versions))
        {
            model = versions[^1];
            return true;
        }

        model = null!;
        return false;
    }

    /// <summary>Exactly <paramref name="version"/> of <paramref name="name"/>.</summary>
    public bool TryGet(string name, string version, out ServedModel model)
    {
        if (_models.TryGetValue(name, out ServedModel[]? versions))
        {
            foreach (ServedModel candidate in versions)
            {
                if (candidate.Version == version)
                {
                    model = candidate;
                    return true;
                }
            }
        }

        model = null!;
        return false;
    }

    /// <summary>The served versions of <paramref name="name"/> in ascending order; empty for an unknown name.</summary>
    public IReadOnlyList<ServedModel> Versions(string name) =>
        _models.TryGetValue(name, out ServedModel[]? versions) ? versions : [];

    /// <summary>True when every model is ready.</summary>
    public bool IsReady
    {
        get
        {
            foreach (ServedModel model in All)
            {
                if (!model.IsReady)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Orders versions numerically when both are decimal integers ("9" before "10"), otherwise ordinally, with
    /// numbers before other strings.
    /// </summary>
    public static int CompareVersions(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        bool aNumber = IsDecimal(a);
        bool bNumber = IsDecimal(b);
        if (aNumber != bNumber)
        {
            return aNumber ? -1 : 1;
        }

        if (aNumber)
        {
            ReadOnlySpan<char> x = a.AsSpan().TrimStart('0');
            ReadOnlySpan<char> y = b.AsSpan().TrimStart('0');
            if (x.Length != y.Length)
            {
                return x.Length < y.Length ? -1 : 1;
            }

            int byValue = x.SequenceCompareTo(y);
            if (byValue != 0)
            {
                return byValue;
            }
        }

        return string.CompareOrdinal(a, b);
    }

    private static bool IsDecimal(string value) => value.Length > 0 && !value.AsSpan().ContainsAnyExceptInRange('0', '9');

    public void Start()
    {
        foreach (ServedModel model in All)
        {
            model.Start();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (ServedModel model in All)
        {
            await model.DisposeAsync();
        }
    }
}
