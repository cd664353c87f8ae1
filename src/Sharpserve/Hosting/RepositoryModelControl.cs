using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Hosting;

/// <summary>
/// The repository API's operations (Triton's model repository extension): the index of the repository's models with
/// their state, and, with <c>--model-control explicit</c>, load and unload by model name. Loads and unloads run one at
/// a time; the request path never waits for them (it reads the registry's snapshot). Who may call load and unload
/// (token, peer) is the HTTP layer's check (<see cref="Http.AdminAccess"/>).
/// </summary>
internal sealed partial class RepositoryModelControl
{
    public const string Ready = "READY";
    public const string Unavailable = "UNAVAILABLE";
    public const string Loading = "LOADING";
    public const string Unloading = "UNLOADING";

    private readonly SharpserveServer _server;
    private readonly ModelControlOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Per model name not served now: what the index says of it (loading, unloading, unloaded, or why a load failed).</summary>
    private readonly ConcurrentDictionary<string, (string State, string Reason)> _states = new(StringComparer.Ordinal);

    /// <summary>Per served model name: its <see cref="ModelMemoryEstimate"/>, counted against --max-model-memory.</summary>
    private readonly Dictionary<string, long> _estimates = new(StringComparer.Ordinal);

    public RepositoryModelControl(SharpserveServer server, ModelControlOptions options, ILogger logger)
    {
        _server = server;
        _options = options;
        _logger = logger;
        foreach (ModelRepository.Entry entry in options.InitialEntries)
        {
            _estimates[entry.Name] = _estimates.GetValueOrDefault(entry.Name) + ModelMemoryEstimate.Of(entry);
        }
    }

    private ModelRegistry Registry => _server.Registry;

    /// <summary>Loads every version its config selects of model folder <paramref name="name"/> (a valid name, checked by the caller).</summary>
    public async Task<ControlResult> LoadAsync(string name)
    {
        if (!_server.WhenReady.IsCompletedSuccessfully)
        {
            return ControlResult.Unavailable("the server is still starting; load models once /v2/health/ready answers 200");
        }

        await _oneAtATime.WaitAsync();
        try
        {
            if (Registry.Versions(name).Count > 0)
            {
                // Loading a served model changes nothing (to serve changed files: unload, then load; or SIGHUP in process mode).
                return ControlResult.Ok;
            }

            IRepositoryModels repository = _options.Repository!;
            if (!Directory.Exists(Path.Combine(repository.Directory, name)))
            {
                return ControlResult.NotFound($"the model repository {repository.Directory} has no model folder '{name}'");
            }

            Log.Loading(_logger, name);
            IReadOnlyList<ModelRepository.Entry> entries;
            try
            {
                entries = repository.Scan(name);
            }
            catch (ModelLoadException ex)
            {
                return Failed(name, ex.Message);
            }

            long estimate = ModelMemoryEstimate.Of(entries);
            if (_options.MaxModelMemoryBytes > 0 && LoadedBytes() + estimate > _options.MaxModelMemoryBytes)
            {
                return Failed(name, $"model '{name}' needs about {Mib(estimate)} (the size of its version folders) and the loaded models take " +
                    $"{Mib(LoadedBytes())}, over --max-model-memory {Mib(_options.MaxModelMemoryBytes)}; unload a model first, or raise the limit");
            }

            _states[name] = (Loading, "");
            var sources = new List<ModelSource>(entries.Count);
            bool served = false;
            try
            {
                // Preparing (image build, ONNX bake, a Python zygote's import) blocks: off the request's thread.
                await Task.Run(() =>
                {
                    foreach (ModelRepository.Entry entry in entries)
                    {
                        sources.Add(repository.Open(entry));
                    }
                });
                served = true; // from here the server releases them when they fail
                await _server.AddModelsAsync(sources);
            }
            catch (Exception ex) when (ex is ModelLoadException or IOException or UnauthorizedAccessException)
            {
                if (!served)
                {
                    await ReleaseAsync(sources);
                }

                return Failed(name, ex.Message);
            }

            _estimates[name] = estimate;
            _states.TryRemove(name, out _);
            Log.Loaded(_logger, name, string.Join(", ", entries.Select(e => e.Version)));
            return ControlResult.Ok;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Unloads every version of <paramref name="name"/> once the requests already received are answered.</summary>
    public async Task<ControlResult> UnloadAsync(string name)
    {
        if (!_server.WhenReady.IsCompletedSuccessfully)
        {
            return ControlResult.Unavailable("the server is still starting; unload models once /v2/health/ready answers 200");
        }

        await _oneAtATime.WaitAsync();
        try
        {
            IReadOnlyList<ServedModel> removed = await _server.RemoveModelAsync(name, () =>
            {
                _states[name] = (Unloading, "waiting for the requests received before the unload");
                Log.Unloading(_logger, name);
            });
            if (removed.Count == 0)
            {
                // Unloading what is not served is done already, as in Triton; an unknown name is not.
                return _states.ContainsKey(name) || Directory.Exists(Path.Combine(_options.Repository?.Directory ?? "", name))
                    ? ControlResult.Ok
                    : ControlResult.NotFound($"unknown model '{name}'");
            }

            _estimates.Remove(name);
            _states[name] = (Unavailable, "unloaded");
            Log.Unloaded(_logger, name);
            return ControlResult.Ok;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private ControlResult Failed(string name, string reason)
    {
        _states[name] = (Unavailable, reason);
        Log.LoadFailed(_logger, name, reason);
        return ControlResult.BadRequest($"failed to load '{name}': {reason}");
    }

    /// <summary>Releases the sources a failed load opened before one failed to open.</summary>
    private static async Task ReleaseAsync(List<ModelSource> sources)
    {
        foreach (ModelSource source in sources)
        {
            source.Model?.Dispose();
            if (source.Resources is { } resources)
            {
                await resources.DisposeAsync();
            }
        }
    }

    private long LoadedBytes()
    {
        long total = 0;
        foreach (long bytes in _estimates.Values)
        {
            total += bytes;
        }

        return total;
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024.0):0.#} MiB";

    private static partial class Log
    {
        [LoggerMessage(3100, LogLevel.Information, "Loading model '{Model}' from the model repository")]
        public static partial void Loading(ILogger logger, string model);

        [LoggerMessage(3101, LogLevel.Information, "Loaded model '{Model}' version(s) {Versions}; ready")]
        public static partial void Loaded(ILogger logger, string model, string versions);

        [LoggerMessage(3102, LogLevel.Warning, "Load of model '{Model}' failed: {Reason}")]
        public static partial void LoadFailed(ILogger logger, string model, string reason);

        [LoggerMessage(3103, LogLevel.Information, "Unloading model '{Model}': new requests get 404; waiting for the requests received before")]
        public static partial void Unloading(ILogger logger, string model);

        [LoggerMessage(3104, LogLevel.Information, "Unloaded model '{Model}'")]
        public static partial void Unloaded(ILogger logger, string model);
    }
}
