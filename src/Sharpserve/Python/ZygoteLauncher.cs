using System.Globalization;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Supervision;

namespace Sharpserve.Python;

/// <summary>
/// Starts a Python model's workers by forking them from its zygote (docs/python-backend.md section 4). Each load of
/// the code is a generation with its own zygote, named to the supervisor by a token that stands where a model
/// path stands for the other backends: reload starts a new generation, whose workers replace the old ones; the old
/// zygote is stopped once its last worker is gone. A generation's zygote that dies is started again, with backoff,
/// while its workers keep serving.
/// </summary>
internal sealed class ZygoteLauncher : IWorkerLauncher, IZygoteStatus, IAsyncDisposable
{
    private readonly PythonEntry _entry;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly List<ZygoteGeneration> _generations = [];
    private ZygoteGeneration? _current;
    private int _nextGeneration = -1; // the first generation is 0, as the first generation of workers
    private volatile bool _stopping;

    public ZygoteLauncher(PythonEntry entry, ILogger logger)
    {
        _entry = entry;
        _logger = logger;
    }

    /// <summary>
    /// Starts a zygote generation and waits until it has loaded the model; returns its token and what it reported.
    /// The first generation is the one served; a later one serves once the supervisor reloads onto its token.
    /// </summary>
    /// <exception cref="ModelLoadException">The model cannot be loaded; the message says why, in one line.</exception>
    public async Task<(string Token, ZygoteEvent Loaded)> StartGenerationAsync()
    {
        int number = Interlocked.Increment(ref _nextGeneration);
        string token = $"python:{_entry.Entry} (generation {number.ToString(CultureInfo.InvariantCulture)})";
        PythonZygote zygote = PythonZygote.Start(_entry, _logger);
        PythonLog.Started(_logger, zygote.Pid, _entry.Entry, number);
        ZygoteEvent loaded;
        try
        {
            loaded = await zygote.Loaded.ConfigureAwait(false);
        }
        catch (ModelLoadException)
        {
            await zygote.StopAsync().ConfigureAwait(false);
            throw;
        }

        LogLoaded(zygote, loaded);
        var generation = new ZygoteGeneration(number, token, zygote, loaded, _logger);
        lock (_lock)
        {
            _generations.Add(generation);
            _current ??= generation;
        }

        generation.WatchZygote(this);
        return (token, loaded);
    }

    /// <summary>The metadata and warm-up the generation of <paramref name="token"/> reported.</summary>
    public ZygoteEvent LoadedOf(string token) => Find(token)?.Loaded ?? throw new ModelLoadException($"{token}: no such zygote generation");

    /// <summary>A generation that will not be served (its reload was refused) is stopped.</summary>
    public void Discard(string token)
    {
        if (Find(token) is { } generation && generation != _current)
        {
            generation.Retire();
            _ = generation.StopIfIdleAsync(this);
        }
    }

    public IWorkerHandle Launch(WorkerLaunch launch, Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ZygoteGeneration? generation = Find(launch.ModelPath);
        if (generation is null || _stopping)
        {
            return ForkedWorker.NotForked($"could not be forked: no zygote for {launch.ModelPath}");
        }

        List<ZygoteGeneration>? retired = null;
        lock (_lock)
        {
            if (_current is { } current && generation.Number > current.Number)
            {
                // The supervisor reloaded onto a newer generation: the older ones stop once their workers are gone.
                foreach (ZygoteGeneration older in _generations)
                {
                    if (older.Number < generation.Number)
                    {
                        older.Retire();
                        (retired ??= []).Add(older);
                    }
                }

                _current = generation;
            }
        }

        foreach (ZygoteGeneration older in retired ?? [])
        {
            _ = older.StopIfIdleAsync(this); // its workers may all be gone already
        }

        return generation.Fork(launch.Id, launch.SocketPath, this);
    }

    public IReadOnlyList<ZygoteStatus> Zygotes
    {
        get
        {
            lock (_lock)
            {
                return [.. _generations.Select(g => g.Status())];
            }
        }
    }

    public bool IsStopping => _stopping;

    /// <summary>Stops every zygote (the supervisor has stopped the workers already).</summary>
    public async ValueTask DisposeAsync()
    {
        _stopping = true;
        ZygoteGeneration[] all;
        lock (_lock)
        {
            all = [.. _generations];
        }

        await Task.WhenAll(all.Select(g => g.StopAsync())).ConfigureAwait(false);
    }

    internal void Forget(ZygoteGeneration generation)
    {
        lock (_lock)
        {
            _generations.Remove(generation);
        }
    }

    internal void LogLoaded(PythonZygote zygote, ZygoteEvent loaded) =>
        PythonLog.Loaded(_logger, zygote.Pid, _entry.Entry, loaded.LoadSeconds ?? 0, loaded.WarmupSeconds ?? 0, (loaded.Memory?.PrivateDirty ?? 0) >> 20);

    internal PythonEntry Entry => _entry;

    private ZygoteGeneration? Find(string token)
    {
        lock (_lock)
        {
            return _generations.Find(g => g.Token == token);
        }
    }
}
