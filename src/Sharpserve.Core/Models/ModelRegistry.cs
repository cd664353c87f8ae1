using System.Collections.Frozen;

namespace Sharpserve.Core.Models;

/// <summary>The models this server serves, by name. Fixed at start in this version (no load/unload yet).</summary>
public sealed class ModelRegistry : IAsyncDisposable
{
    private readonly FrozenDictionary<string, ServedModel> _models;

    public ModelRegistry(IReadOnlyList<ServedModel> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        if (models.Count == 0)
        {
            throw new ArgumentException("at least one model is required", nameof(models));
        }

        var byName = new Dictionary<string, ServedModel>(StringComparer.Ordinal);
        foreach (ServedModel model in models)
        {
            if (!byName.TryAdd(model.Name, model))
            {
                throw new ArgumentException($"two models are named '{model.Name}'", nameof(models));
            }
        }

        _models = byName.ToFrozenDictionary(StringComparer.Ordinal);
        All = models;
        Default = models[0];
    }

    /// <summary>The model served by /labelservice/.</summary>
    public ServedModel Default { get; }

    public IReadOnlyList<ServedModel> All { get; }

    public bool TryGet(string name, out ServedModel model) => _models.TryGetValue(name, out model!);

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
