using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;

namespace Sharpserve.Hosting;

/// <summary>
/// A model to serve: its description (metadata and warm-up requests: all the HTTP layer and the warm-up need),
/// the opened model in thread mode (its executor threads run it; the server disposes it), and for process mode the
/// prepared file workers open and a way to prepare it again when the source changes (reload).
/// </summary>
public sealed record ModelSource
{
    /// <summary>Thread mode: an opened model, which the server's executor threads run and which the server disposes.</summary>
    /// <param name="model">The opened model.</param>
    /// <param name="preparedPath">The prepared file it was opened from, when known: what /status measures.</param>
    /// <param name="prepareAgain">Prepares the source again and returns the prepared file.</param>
    public ModelSource(IModel model, string? preparedPath = null, Func<string>? prepareAgain = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        Description = model.Description;
        PreparedPath = preparedPath;
        PrepareAgain = prepareAgain;
    }

    /// <summary>Process mode: a model only described here (<see cref="IModelBackend.Describe"/>); workers open <paramref name="preparedPath"/>.</summary>
    /// <param name="description">The model's description.</param>
    /// <param name="preparedPath">The prepared file the workers open.</param>
    /// <param name="prepareAgain">Prepares the source again and returns the prepared file (reload).</param>
    public ModelSource(ModelDescription description, string? preparedPath = null, Func<string>? prepareAgain = null)
    {
        ArgumentNullException.ThrowIfNull(description);
        Description = description;
        PreparedPath = preparedPath;
        PrepareAgain = prepareAgain;
    }

    public ModelDescription Description { get; }

    /// <summary>The opened model, for thread mode; null when the model is only described.</summary>
    public IModel? Model { get; }

    public string? PreparedPath { get; }

    public Func<string>? PrepareAgain { get; }

    /// <summary>This model's own batching (a repository's config.json), over the server's; null: the server's.</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>The version it is served as: a model repository's version folder; "1" otherwise.</summary>
    public string Version { get; init; } = "1";

    /// <summary>
    /// Process mode: whether all workers may load the model at once. True when a worker's load costs little CPU
    /// (a model image is mapped, not parsed): they start together and are ready together, so the first requests
    /// meet no sibling still starting. False (the default, e.g. ONNX, whose session creation prepacks every weight):
    /// one worker loads alone first, so readiness is not delayed by N loads sharing the cores (docs/architecture.md).
    /// </summary>
    public bool WorkersStartTogether { get; init; }

    /// <summary>
    /// Starts this model's workers (a Python model's zygote forks them): the model runs in worker processes whatever
    /// the server's mode, with the server's process-mode settings or their defaults. Null: the server's own launcher.
    /// </summary>
    public Supervision.IWorkerLauncher? Launcher { get; init; }

    /// <summary>Describes a newly prepared form for the reload check; null: <see cref="ModelLoader.Describe"/>.</summary>
    public Func<string, ModelDescription>? DescribePrepared { get; init; }

    /// <summary>Releases a prepared form that a reload did not take (its inputs or outputs differ).</summary>
    public Action<string>? Discard { get; init; }

    /// <summary>Released by the server after the model's executor has stopped (a Python model's zygotes).</summary>
    public IAsyncDisposable? Resources { get; init; }
}
