using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;
using Sharpserve.Http.Status;
using Sharpserve.Supervision;

namespace Sharpserve.Http;

/// <summary>
/// <c>GET /status</c>: what is running, for operators and <c>sharpserve status</c>, as a <see cref="StatusDocument"/>.
/// Per worker: pid, state, requests served, private dirty memory and its growth since Ready (what
/// --max-worker-memory counts), anonymous memory (heap; where a private model copy would show) and the resident
/// part of the model files' own mappings (<see cref="ModelMappings"/>; the front's covers every served model).
/// One-copy is judged by anonymous memory per worker and total PSS across processes: a file mapped by one
/// process alone counts as private in smaps_rollup.
/// </summary>
internal sealed class StatusEndpoint(ModelRegistry registry)
{
    public Task GetAsync(HttpContext context)
    {
        StatusDocument status = Read();
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            JsonSerializer.Serialize(writer, status, StatusJsonContext.Default.StatusDocument);
        }

        return ResponseBody.CompleteAsync(context).AsTask();
    }

    /// <summary>The status now: memory is read from /proc as the document is made.</summary>
    public StatusDocument Read()
    {
        ProcessMemory front = ProcessMemory.Read(Environment.ProcessId);
        var models = new List<ModelStatus>(registry.All.Count);
        foreach (ServedModel model in registry.All)
        {
            models.Add(ReadModel(model));
        }

        return new StatusDocument
        {
            Ready = registry.IsReady,
            Front = new FrontStatus
            {
                Pid = Environment.ProcessId,
                AnonymousBytes = front.AnonymousBytes,
                MappedModelBytes = FrontMappedModelBytes(),
                PssBytes = front.PssBytes,
                PrivateDirtyBytes = front.PrivateDirtyBytes,
            },
            Models = models,
        };
    }

    /// <summary>The front's resident pages of every served model's files (mapped in thread mode; a process-mode front maps them only while describing them).</summary>
    private long FrontMappedModelBytes()
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (ServedModel model in registry.All)
        {
            string? path = model.Executor is IReloadable pool ? pool.ModelPath : model.PreparedPath;
            if (path is not null)
            {
                files.UnionWith(ModelMappings.FilesOf(path));
            }
        }

        return ModelMappings.ResidentBytes(Environment.ProcessId, files);
    }

    private static ModelStatus ReadModel(ServedModel model)
    {
        var status = new ModelStatus
        {
            Name = model.Name,
            Version = model.Version,
            Ready = model.IsReady,
            Queued = model.Scheduler.QueuedCount,
            Pending = model.Scheduler.PendingCount,
            Completed = model.Executor.CompletedCount,
            ModelFileBytes = model.Description.MappedBytes,
            Mode = model.Executor.Mode,
        };
        if (model.Executor is IWorkerStatus pool)
        {
            var workers = new List<WorkerProcessStatus>();
            foreach (WorkerStatus worker in pool.GetStatus())
            {
                workers.Add(new WorkerProcessStatus
                {
                    Id = worker.Id,
                    Pid = worker.Pid,
                    State = worker.State.ToString().ToLowerInvariant(),
                    Generation = worker.Generation,
                    Requests = worker.RequestsServed,
                    InFlight = worker.InFlight,
                    AnonymousBytes = worker.AnonymousBytes,
                    MappedModelBytes = worker.MappedModelBytes,
                    PssBytes = worker.PssBytes,
                    PrivateDirtyBytes = worker.PrivateDirtyBytes,
                    PrivateDirtyGrowthBytes = worker.PrivateDirtyGrowthBytes,
                    SharedBytes = worker.SharedBytes,
                });
            }

            List<ZygoteProcessStatus>? zygotes = null;
            foreach (Python.ZygoteStatus zygote in pool.GetZygotes())
            {
                (zygotes ??= []).Add(new ZygoteProcessStatus
                {
                    Generation = zygote.Generation,
                    Pid = zygote.Pid,
                    State = zygote.State,
                    Workers = zygote.Workers,
                    Restarts = zygote.Restarts,
                    RssBytes = zygote.RssBytes,
                    PssBytes = zygote.PssBytes,
                    PrivateDirtyBytes = zygote.PrivateDirtyBytes,
                });
            }

            return status with { TargetWorkers = pool.TargetWorkers, Restarts = pool.Restarts, Image = (model.Executor as IReloadable)?.ModelPath, Workers = workers, Zygotes = zygotes };
        }

        if (model.Executor is IBatchingExecutor { Batching.IsEnabled: true } batching)
        {
            status = status with
            {
                Batching = new BatchingStatus
                {
                    MaxBatchSize = batching.Batching.MaxBatchSize,
                    MaxQueueDelaySeconds = batching.Batching.MaxQueueDelay.TotalSeconds,
                    PreferredBatchSizes = batching.Batching.PreferredBatchSizes,
                    Batches = batching.BatchStatistics.BatchSizes.Count,
                    MeanBatchSize = batching.BatchStatistics.MeanBatchSize,
                },
            };
        }

        return model.Executor is IThreadedExecutor threads ? status with { Threads = threads.ThreadCount } : status;
    }
}
