namespace Sharpserve.Core.Models;

/// <summary>
/// The models this server serves, by name and version. A name may have several versions (a model repository's
/// version folders); a lookup by name alone finds the highest version, as the Open Inference Protocol leaves the
/// choice to the server. The set changes only through the repository API (<see cref="AddLoading"/>,
/// <see cref="Remove"/>), under a lock; readers take the current immutable <see cref="ModelSet"/> with one volatile
/// read, so the request path takes no lock.
/// </summary>
public sealed class ModelRegistry : IAsyncDisposable
{
    private readonly Lock _lock = new();

    /// <summary>Names in the order the default model is chosen by: those given at start, then names loaded later.</summary>
    private readonly List<string> _nameOrder = [];
    private volatile ModelSet _set;

    public ModelRegistry(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new ArgumentException("at least one model is required", nameof(models));
        }

        foreach (ServedModel model in models)
        {
            if (!_nameOrder.Contains(model.Name))
            {
                _nameOrder.Add(model.Name);
            }
        }

        _set = new ModelSet([.. models], [], [.. _nameOrder]);
    }

    /// <summary>
    /// The model served by /labelservice/: the highest version of the first model given at start, or while it is
    /// unloaded, of the next name in that order (names loaded later come last).
    /// </summary>
    /// <exception cref="InvalidOperationException">No model is loaded (all were unloaded); see <see cref="TryGetDefault"/>.</exception>
    public ServedModel Default => _set.Default ?? throw new InvalidOperationException("no model is loaded");

    /// <summary>Every served (name, version): those given at start in their order, then loaded ones.</summary>
    public IReadOnlyList<ServedModel> All => _set.All;

    /// <summary>The default model (<see cref="Default"/>), unless no model is loaded.</summary>
    public bool TryGetDefault(out ServedModel model)
    {
        model = _set.Default!;
        return model is not null;
    }

    /// <summary>The highest version of <paramref name="name"/>.</summary>
    public bool TryGet(string name, out ServedModel model)
    {
        if (_set.TryGetVersions(name, out ServedModel[] versions))
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
        if (_set.TryGetVersions(name, out ServedModel[] versions))
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
        _set.TryGetVersions(name, out ServedModel[] versions) ? versions : [];

    /// <summary>Whether <paramref name="model"/> was added by <see cref="AddLoading"/> and is not yet <see cref="MarkLoaded"/>.</summary>
    public bool IsLoading(ServedModel model) => _set.Loading.Contains(model);

    /// <summary>
    /// True when every model is ready. Models loading through the repository API do not count: loading one does not
    /// take the server out of a load balancer (the model's own readiness says 503 until it is warm).
    /// </summary>
    public bool IsReady
    {
        get
        {
            ModelSet set = _set;
            foreach (ServedModel model in set.All)
            {
                if (!model.IsReady && !set.Loading.Contains(model))
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>
    /// Serves <paramref name="models"/> (the versions of one name), marked loading: requests find them and are answered
    /// ModelNotReady until they are ready, and server readiness ignores them until <see cref="MarkLoaded"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A (name, version) is served already.</exception>
    public void AddLoading(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        lock (_lock)
        {
            ModelSet set = _set;
            foreach (ServedModel model in models)
            {
                if (!_nameOrder.Contains(model.Name))
                {
                    _nameOrder.Add(model.Name);
                }
            }

            _set = new ModelSet([.. set.All, .. models], [.. set.Loading, .. models], [.. _nameOrder]);
        }
    }

    /// <summary>The loaded models count for server readiness again.</summary>
    public void MarkLoaded(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        lock (_lock)
        {
            ModelSet set = _set;
            _set = new ModelSet(set.All, [.. set.Loading.Except(models)], [.. _nameOrder]);
        }
    }

    /// <summary>
    /// Stops serving every version of <paramref name="name"/>: lookups no longer find them. The caller drains and
    /// disposes the returned models.
    /// </summary>
    public IReadOnlyList<ServedModel> Remove(string name) => Remove(model => model.Name == name);

    /// <summary>Stops serving exactly <paramref name="models"/> (a load that failed).</summary>
    public IReadOnlyList<ServedModel> Remove(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        return Remove(models.Contains);
    }

    private List<ServedModel> Remove(Func<ServedModel, bool> match)
    {
        lock (_lock)
        {
            ModelSet set = _set;
            var kept = new List<ServedModel>(set.All.Count);
            var removed = new List<ServedModel>();
            foreach (ServedModel model in set.All)
            {
                (match(model) ? removed : kept).Add(model);
            }

            _set = new ModelSet(kept, [.. set.Loading.Except(removed)], [.. _nameOrder]);
            return removed;
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

    /// <summary>Stops every model served now (unloaded ones were disposed by their unload).</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (ServedModel model in All)
        {
            await model.DisposeAsync();
        }
    }
}
