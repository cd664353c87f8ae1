using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;
using Sharpserve.Supervision;

namespace Sharpserve.Http;

/// <summary>
/// <c>GET /status</c>: what is running, for operators and <c>sharpserve status</c>. Per worker: pid, state, requests
/// served, anonymous memory (heap; where a private model copy would show) and the resident part of the model
/// files' own mappings (<see cref="ModelMappings"/>; the front's covers every served model).
/// One-copy is judged by anonymous memory per worker and total PSS across processes: a file mapped by one
/// process alone counts as private in smaps_rollup.
/// </summary>
internal sealed class StatusEndpoint(ModelRegistry registry)
{
    public Task GetAsync(HttpContext context)
    {
        context.Response.ContentType = "application/json";
        using (var w = new Utf8JsonWriter(context.Response.BodyWriter, JsonWriting.Options))
        {
            ProcessMemory front = ProcessMemory.Read(Environment.ProcessId);
            w.WriteStartObject();
            w.WriteBoolean("ready"u8, registry.IsReady);
            w.WriteStartObject("front"u8);
            w.WriteNumber("pid"u8, Environment.ProcessId);
            w.WriteNumber("anonymous_bytes"u8, front.AnonymousBytes);
            w.WriteNumber("mapped_model_bytes"u8, FrontMappedModelBytes());
            w.WriteNumber("pss_bytes"u8, front.PssBytes);
            w.WriteEndObject();
            w.WriteStartArray("models"u8);
            foreach (ServedModel model in registry.All)
            {
                WriteModel(w, model);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return ResponseBody.CompleteAsync(context).AsTask();
    }

    /// <summary>The front's resident pages of every served model's files (mapped in thread mode; a process-mode front maps them only while describing them).</summary>
    private long FrontMappedModelBytes()
    {
        var files = new HashSet<string>(StringComparer.Ordinal);
        foreach (ServedModel model in registry.All)
        {
            string? path = model.Executor is WorkerPool pool ? pool.ImagePath : model.ImagePath;
            if (path is not null)
            {
                files.UnionWith(ModelMappings.FilesOf(path));
            }
        }

        return ModelMappings.ResidentBytes(Environment.ProcessId, files);
    }

    private static void WriteModel(Utf8JsonWriter w, ServedModel model)
    {
        w.WriteStartObject();
        w.WriteString("name"u8, model.Name);
        w.WriteString("version"u8, model.Version);
        w.WriteBoolean("ready"u8, model.IsReady);
        w.WriteNumber("queued"u8, model.Scheduler.QueuedCount);
        w.WriteNumber("pending"u8, model.Scheduler.PendingCount);
        w.WriteNumber("completed"u8, model.Executor.CompletedCount);
        w.WriteNumber("model_file_bytes"u8, model.Description.MappedBytes);
        if (model.Executor is WorkerPool pool)
        {
            w.WriteString("mode"u8, "process"u8);
            w.WriteNumber("target_workers"u8, pool.TargetWorkers);
            w.WriteNumber("restarts"u8, pool.Restarts);
            w.WriteString("image"u8, pool.ImagePath);
            w.WriteStartArray("workers"u8);
            foreach (WorkerStatus worker in pool.GetStatus())
            {
                w.WriteStartObject();
                w.WriteNumber("id"u8, worker.Id);
                w.WriteNumber("pid"u8, worker.Pid);
                w.WriteString("state"u8, worker.State.ToString().ToLowerInvariant());
                w.WriteNumber("generation"u8, worker.Generation);
                w.WriteNumber("requests"u8, worker.RequestsServed);
                w.WriteNumber("in_flight"u8, worker.InFlight);
                w.WriteNumber("anonymous_bytes"u8, worker.AnonymousBytes);
                w.WriteNumber("mapped_model_bytes"u8, worker.MappedModelBytes);
                w.WriteNumber("pss_bytes"u8, worker.PssBytes);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }
        else if (model.Executor is InProcessExecutor threads)
        {
            w.WriteString("mode"u8, "thread"u8);
            w.WriteNumber("threads"u8, threads.ThreadCount);
        }

        w.WriteEndObject();
    }
}
