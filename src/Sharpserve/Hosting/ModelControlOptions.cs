namespace Sharpserve.Hosting;

/// <summary>The repository API's settings: <c>--model-control</c>, <c>--admin-token-file</c>, <c>--max-model-memory</c>.</summary>
internal sealed record ModelControlOptions
{
    public ModelControlMode Mode { get; init; } = ModelControlMode.None;

    /// <summary>The bearer token load and unload require; null refuses them all (never logged).</summary>
    public string? AdminToken { get; init; }

    /// <summary>The most the served models may take by <see cref="ModelMemoryEstimate"/>; 0: no limit.</summary>
    public long MaxModelMemoryBytes { get; init; }

    /// <summary>The served model repository; null when one model file (or --python) is served.</summary>
    public IRepositoryModels? Repository { get; init; }

    /// <summary>The repository entries served from the start, counted against <see cref="MaxModelMemoryBytes"/>.</summary>
    public IReadOnlyList<ModelRepository.Entry> InitialEntries { get; init; } = [];
}
