using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;
using Sharpserve.Http;
using Sharpserve.Supervision;

namespace Sharpserve.Hosting;

public sealed partial class SharpserveServer
{
    /// <summary>
    /// A model to serve with its executor: in process mode (or for a model with its own launcher, a Python model) a
    /// pool of workers that open the prepared file; in thread mode executor threads over the opened model.
    /// </summary>
    private static ServedModel CreateServed(ModelSource source, ServerOptions options, ILogger executorLogger, ILogger poolLogger, TimeProvider? time)
    {
        if (source.Launcher is not null || options.ProcessMode is not null)
        {
            WorkerPoolOptions processMode = options.ProcessMode ?? new WorkerPoolOptions { Workers = Environment.ProcessorCount };
            if (source.Launcher is { } launcher)
            {
                processMode = processMode with { Launcher = launcher };
            }

            string prepared = source.PreparedPath
                ?? throw new ArgumentException($"process mode needs the prepared path of model '{source.Description.Name}'", nameof(source));
            if (source.Batching is { IsEnabled: true })
            {
                throw new ModelLoadException($"model '{source.Description.Name}': dynamic batching runs in thread mode only; workers do not batch yet");
            }

            if (source.Model is not null)
            {
                throw new ArgumentException($"process mode only describes model '{source.Description.Name}'; its workers open it (give its description)", nameof(source));
            }

            return new ServedModel(
                source.Description,
                options.Scheduler,
                scheduler => new ProcessExecutor(prepared, source.Description.Name, processMode, scheduler, poolLogger, time, source.WorkersStartTogether),
                time) { Version = source.Version, PreparedPath = prepared };
        }

        IModel model = source.Model
            ?? throw new ArgumentException($"thread mode runs model '{source.Description.Name}' in this process, so it must be opened, not only described", nameof(source));
        return new ServedModel(model, options.Scheduler, options.Threads, executorLogger, time, source.Batching ?? options.Batching)
        {
            Version = source.Version,
            PreparedPath = source.PreparedPath,
        };
    }

    /// <summary>
    /// Serves newly opened models (the versions of one name) while the server runs: they are registered as loading
    /// (requests to them get 503 until ready), their executors start and warm up, then the server's own requests
    /// warm their HTTP path, and only then are they ready. On failure they are removed and stopped again.
    /// </summary>
    /// <exception cref="ModelLoadException">The models failed to start or warm up; nothing of them is left.</exception>
    internal async Task AddModelsAsync(IReadOnlyList<ModelSource> sources)
    {
        var models = new List<ServedModel>(sources.Count);
        try
        {
            foreach (ModelSource source in sources)
            {
                ServedModel model = CreateServed(source, _options, _executorLogger, _poolLogger, _time);
                _sources[model] = source;
                models.Add(model);
            }
        }
        catch
        {
            await StopModelsAsync(models, sources);
            throw;
        }

        _registry.AddLoading(models);
        try
        {
            foreach (ServedModel model in models)
            {
                model.Start();
            }

            await WarmUpModelsAsync(models);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or ModelLoadException or TaskCanceledException)
        {
            _registry.Remove(models);
            await StopModelsAsync(models, sources);
            throw ex as ModelLoadException ?? new ModelLoadException($"the model did not become ready: {ex.Message}", ex);
        }

        _registry.MarkLoaded(models);
    }

    /// <summary>
    /// Stops serving every version of <paramref name="name"/>: new requests no longer find it (404), the requests
    /// received before are answered, then its executors (threads or workers) stop and its model is unmapped.
    /// </summary>
    /// <returns>The versions that were served; empty when the name was not.</returns>
    internal async Task<IReadOnlyList<ServedModel>> RemoveModelAsync(string name, Action onDraining)
    {
        IReadOnlyList<ServedModel> removed = _registry.Remove(name);
        if (removed.Count == 0)
        {
            return removed;
        }

        onDraining();
        await _epochs.WaitForEarlierRequestsAsync();
        var sources = new List<ModelSource>(removed.Count);
        foreach (ServedModel model in removed)
        {
            if (_sources.TryGetValue(model, out ModelSource? source))
            {
                sources.Add(source);
            }
        }

        await StopModelsAsync(removed, sources);
        return removed;
    }

    /// <summary>Stops the executors, then releases what the sources hold (a Python model's zygote).</summary>
    private async Task StopModelsAsync(IReadOnlyList<ServedModel> models, IReadOnlyList<ModelSource> sources)
    {
        foreach (ServedModel model in models)
        {
            await model.DisposeAsync();
            _sources.TryRemove(model, out _);
        }

        for (int i = 0; i < sources.Count; i++)
        {
            ModelSource source = sources[i];
            if (i >= models.Count)
            {
                source.Model?.Dispose(); // never handed to a served model, which would own it
            }

            if (source.Resources is { } resources)
            {
                await resources.DisposeAsync();
            }
        }
    }

    /// <summary>The warm-up of models loaded while serving: their executors, then their HTTP path (as at start).</summary>
    private async Task WarmUpModelsAsync(IReadOnlyList<ServedModel> models)
    {
        foreach (ServedModel model in models)
        {
            await model.Executor.WarmedUp;
        }

        var refused = new HashSet<ServedModel>();
        using (HttpClient client = SelfClient.Create(ListenAddresses[0], TimeSpan.FromSeconds(60)))
        using (Grpc.GrpcWarmupClient? grpc = CreateGrpcWarmupClient())
        {
            client.DefaultRequestHeaders.Add(WarmupGate.HeaderName, _warmupGate.Token);
            for (var rounds = new WarmupBudget(_options.HttpWarmupRounds); rounds.Next();)
            {
                await WarmUpModelsRoundAsync(client, grpc, models, refused);
            }
        }

        foreach (ServedModel model in models)
        {
            model.MarkReady();
            if (model.Executor is IStagedStart staged)
            {
                staged.StartRemaining();
            }
        }
    }
}
