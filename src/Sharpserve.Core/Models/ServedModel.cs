using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;

namespace Sharpserve.Core.Models;

/// <summary>
/// A model with its scheduler and executors: the unit the HTTP layer routes to. The HTTP layer and the warm-up read
/// only its <see cref="Description"/>; the model itself is opened only where it runs: by this model's executor
/// threads in thread mode, by the worker processes in process mode.
/// </summary>
public sealed class ServedModel : IAsyncDisposable
{
    private readonly IModel? _model;
    private volatile bool _acceptingTraffic;
    private volatile bool _stopping;

    /// <summary>
    /// Thread mode: <paramref name="threads"/> executor threads in this process run the opened <paramref name="model"/>,
    /// which this owns, forming batches as <paramref name="batching"/> says (off when null).
    /// </summary>
    public ServedModel(IModel model, SchedulerOptions schedulerOptions, int threads, ILogger? logger = null, TimeProvider? time = null, BatchingOptions? batching = null)
        : this(DescriptionOf(model), schedulerOptions, scheduler => new InProcessExecutor(model, scheduler, threads, logger, batching: batching), time)
    {
        _model = model;
    }

    /// <summary>Any executor, e.g. process mode's worker pool, built over this model's scheduler; the model is only described here.</summary>
    public ServedModel(ModelDescription description, SchedulerOptions schedulerOptions, Func<InferenceScheduler, IExecutor> createExecutor, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(description);
        ArgumentNullException.ThrowIfNull(createExecutor);
        Description = description;
        Scheduler = new InferenceScheduler(schedulerOptions, time);
        Executor = createExecutor(Scheduler);
    }

    public string Name => Description.Name;

    /// <summary>
    /// The version served under <c>/v2/models/{name}/versions/{version}</c>: a model repository's version folder,
    /// "1" for a single model. Several versions of one name are separate served models.
    /// </summary>
    public string Version
    {
        get;
        init => field = string.IsNullOrEmpty(value) || value.Contains('/', StringComparison.Ordinal)
            ? throw new ArgumentException($"model '{Name}': a version must be non-empty and without '/', got '{value}'", nameof(value))
            : value;
    } = "1";

    /// <summary>Metadata (what requests are validated against), warm-up requests and mapped bytes.</summary>
    public ModelDescription Description { get; }

    /// <summary>The prepared file the model was opened from (image or baked model), when known: what /status measures.</summary>
    public string? PreparedPath { get; init; }

    public InferenceScheduler Scheduler { get; }

    public IExecutor Executor { get; }

    /// <summary>Every executor has run its warm-up and the model has not been stopped.</summary>
    public bool IsReady => _acceptingTraffic && !_stopping && Executor.IsWarm;

    public void Start() => Executor.Start();

    /// <summary>Allows traffic; called once the whole request path has been warmed.</summary>
    public void MarkReady() => _acceptingTraffic = true;

    /// <summary>
    /// Shutdown: readiness goes false at once, but requests keep being admitted until the scheduler closes. Which
    /// requests still come is the HTTP layer's decision (those received before the signal, Hosting/ShutdownDrain):
    /// one still uploading its body when the signal came reaches this model afterwards and must run.
    /// </summary>
    public void MarkNotReady() => _stopping = true;

    /// <summary>
    /// Submits a request once the model has turned ready and has a warm executor (also while shutting down, see
    /// <see cref="MarkNotReady"/>); before that answers ModelNotReady without queueing.
    /// </summary>
    public Task<InferResult> InferAsync(InferenceRequest request, CancellationToken cancellation = default) =>
        _acceptingTraffic && Executor.IsWarm
            ? Scheduler.SubmitAsync(request, Executor, cancellation)
            : Task.FromResult(InferResult.Failure(InferErrorKind.ModelNotReady, $"model '{Name}' is not ready yet"));

    /// <summary>Submits a request whatever the readiness; used by the warm-up of the request path itself.</summary>
    public Task<InferResult> InferUncheckedAsync(InferenceRequest request, CancellationToken cancellation = default) =>
        Scheduler.SubmitAsync(request, Executor, cancellation);

    public async ValueTask DisposeAsync()
    {
        MarkNotReady();
        await Executor.StopAsync();
        await Scheduler.DisposeAsync();
        _model?.Dispose();
    }

    private static ModelDescription DescriptionOf(IModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Description;
    }
}
