using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Sharpserve.Core.Models;
using Sharpserve.Hosting;
using Sharpserve.Supervision;

namespace Sharpserve.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format: requests and latency per route and status, queue depth,
/// readiness, worker states, restarts and per-worker memory (anonymous and mapped model), and the front's own
/// memory. Written by hand rather than through System.Diagnostics.Metrics + an exporter package: the series are
/// few, and no extra dependency is needed.
/// </summary>
internal sealed class MetricsEndpoint(ModelRegistry registry, RequestMetrics requests, ShutdownDrain drain)
{
    public Task GetAsync(HttpContext context)
    {
        var text = new StringBuilder(4096);
        WriteRequests(text);
        Gauge(text, "sharpserve_http_requests_in_flight", "HTTP requests received and not yet answered (this one included).", drain.InFlight);
        WriteModels(text);
        ProcessMemory front = ProcessMemory.Read(Environment.ProcessId);
        Gauge(text, "sharpserve_process_anonymous_bytes", "Anonymous memory (heap and other non-file pages) of the front process.", front.AnonymousBytes);
        Gauge(text, "sharpserve_process_pss_bytes", "Proportional set size of the front process.", front.PssBytes);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.BodyWriter.Write(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        return Http.ResponseBody.CompleteAsync(context).AsTask();
    }

    private void WriteRequests(StringBuilder text)
    {
        text.Append("# HELP sharpserve_http_requests_total HTTP requests answered, by route and status.\n# TYPE sharpserve_http_requests_total counter\n");
        foreach (var (key, series) in requests.All)
        {
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_http_requests_total{{route=\"{key.Route}\",status=\"{key.Status}\"}} {series.Count}\n");
        }

        text.Append("# HELP sharpserve_http_request_duration_seconds Time from the request's arrival to its answer.\n# TYPE sharpserve_http_request_duration_seconds histogram\n");
        foreach (var (key, series) in requests.All)
        {
            string labels = $"route=\"{key.Route}\",status=\"{key.Status}\"";
            for (int i = 0; i < RequestMetrics.BucketBounds.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"sharpserve_http_request_duration_seconds_bucket{{{labels},le=\"{RequestMetrics.BucketBounds[i]}\"}} {series.CumulativeBucket(i)}\n");
            }

            text.Append(CultureInfo.InvariantCulture, $"sharpserve_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {series.Count}\n");
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_http_request_duration_seconds_sum{{{labels}}} {series.SumSeconds}\n");
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_http_request_duration_seconds_count{{{labels}}} {series.Count}\n");
        }
    }

    private void WriteModels(StringBuilder text)
    {
        text.Append("# HELP sharpserve_model_ready 1 when the model takes traffic.\n# TYPE sharpserve_model_ready gauge\n");
        foreach (ServedModel model in registry.All)
        {
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_model_ready{{{ModelLabels(model)}}} {(model.IsReady ? 1 : 0)}\n");
        }

        text.Append("# HELP sharpserve_queue_depth Requests waiting for an executor.\n# TYPE sharpserve_queue_depth gauge\n");
        foreach (ServedModel model in registry.All)
        {
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_queue_depth{{{ModelLabels(model)}}} {model.Scheduler.QueuedCount}\n");
        }

        text.Append("# HELP sharpserve_inferences_total Inferences run to completion by the model's executors.\n# TYPE sharpserve_inferences_total counter\n");
        foreach (ServedModel model in registry.All)
        {
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_inferences_total{{{ModelLabels(model)}}} {model.Executor.CompletedCount}\n");
        }

        text.Append("# HELP sharpserve_model_file_bytes Size of the mapped model file.\n# TYPE sharpserve_model_file_bytes gauge\n");
        foreach (ServedModel model in registry.All)
        {
            text.Append(CultureInfo.InvariantCulture, $"sharpserve_model_file_bytes{{{ModelLabels(model)}}} {model.Description.MappedBytes}\n");
        }

        var workers = new List<(string Labels, WorkerStatus Status)>();
        text.Append("# HELP sharpserve_worker_restarts_total Worker processes lost unexpectedly and replaced.\n# TYPE sharpserve_worker_restarts_total counter\n");
        foreach (ServedModel model in registry.All)
        {
            if (model.Executor is WorkerPool pool)
            {
                text.Append(CultureInfo.InvariantCulture, $"sharpserve_worker_restarts_total{{{ModelLabels(model)}}} {pool.Restarts}\n");
                foreach (WorkerStatus status in pool.GetStatus())
                {
                    workers.Add((ModelLabels(model), status));
                }
            }
        }

        WorkerSeries(text, workers, "sharpserve_worker_anonymous_bytes", "gauge", "Worker anonymous memory (heap; where a private model copy would show).", static w => w.AnonymousBytes);
        WorkerSeries(text, workers, "sharpserve_worker_mapped_model_bytes", "gauge", "Worker resident file-backed pages (the shared model image).", static w => w.MappedModelBytes);
        WorkerSeries(text, workers, "sharpserve_worker_pss_bytes", "gauge", "Worker proportional set size.", static w => w.PssBytes);
        WorkerSeries(text, workers, "sharpserve_worker_requests_total", "counter", "Requests answered by the worker.", static w => w.RequestsServed);
    }

    /// <summary>model="NAME",version="V": every per-model series carries both, as one name may serve several versions.</summary>
    private static string ModelLabels(ServedModel model) => $"model=\"{model.Name}\",version=\"{model.Version}\"";

    private static void WorkerSeries(StringBuilder text, List<(string Labels, WorkerStatus Status)> workers, string name, string type, string help, Func<WorkerStatus, long> value)
    {
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");
        foreach ((string labels, WorkerStatus status) in workers)
        {
            text.Append(CultureInfo.InvariantCulture, $"{name}{{{labels},worker=\"{status.Id}\",pid=\"{status.Pid}\",state=\"{status.State.ToString().ToLowerInvariant()}\"}} {value(status)}\n");
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}
