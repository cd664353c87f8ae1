using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Sharpserve.Core.Batching;
using Sharpserve.Core.Models;
using Sharpserve.Hosting;
using Sharpserve.Supervision;

namespace Sharpserve.Metrics;

/// <summary>
/// <c>GET /metrics</c> in the Prometheus text format: requests and latency per route and status, queue depth,
/// readiness, worker states, restarts and per-worker memory (private dirty and its growth since Ready, anonymous,
/// PSS and mapped model), and the front's own memory. Written by hand (<see cref="PrometheusTextWriter"/>) rather
/// than through System.Diagnostics.Metrics + an exporter package: the series are few, and no extra dependency is
/// needed.
/// </summary>
internal sealed class MetricsEndpoint(ModelRegistry registry, RequestMetrics requests, ShutdownDrain drain)
{
    public Task GetAsync(HttpContext context)
    {
        var text = new PrometheusTextWriter();
        WriteRequests(text);
        Gauge(text, "sharpserve_http_requests_in_flight", "HTTP requests received and not yet answered (this one included).", drain.InFlight);
        WriteModels(text);
        ProcessMemory front = ProcessMemory.Read(Environment.ProcessId);
        Gauge(text, "sharpserve_process_anonymous_bytes", "Anonymous memory (heap and other non-file pages) of the front process.", front.AnonymousBytes);
        Gauge(text, "sharpserve_process_private_dirty_bytes", "Private dirty memory (pages only this process has written) of the front process.", front.PrivateDirtyBytes);
        Gauge(text, "sharpserve_process_pss_bytes", "Proportional set size of the front process.", front.PssBytes);
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.BodyWriter.Write(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
        return Http.ResponseBody.CompleteAsync(context).AsTask();
    }

    private void WriteRequests(PrometheusTextWriter text)
    {
        text.Family("sharpserve_http_requests_total", "counter", "HTTP requests answered, by route and status.");
        foreach (var (key, series) in requests.All)
        {
            text.Sample("sharpserve_http_requests_total", series.Count, RequestLabels(key));
        }

        text.Family("sharpserve_http_request_duration_seconds", "histogram", "Time from the request's arrival to its answer.");
        Span<long> buckets = stackalloc long[RequestMetrics.BucketBounds.Length];
        foreach (var (key, series) in requests.All)
        {
            (string, string)[] labels = RequestLabels(key);
            long count = series.Snapshot(buckets);
            for (int i = 0; i < buckets.Length; i++)
            {
                text.Sample("sharpserve_http_request_duration_seconds_bucket", buckets[i],
                    [.. labels, ("le", PrometheusTextWriter.FormatValue(RequestMetrics.BucketBounds[i]))]);
            }

            text.Sample("sharpserve_http_request_duration_seconds_bucket", count, [.. labels, ("le", "+Inf")]);
            text.Sample("sharpserve_http_request_duration_seconds_sum", series.SumSeconds, labels);
            text.Sample("sharpserve_http_request_duration_seconds_count", count, labels);
        }
    }

    private void WriteModels(PrometheusTextWriter text)
    {
        text.Family("sharpserve_model_ready", "gauge", "1 when the model takes traffic.");
        foreach (ServedModel model in registry.All)
        {
            text.Sample("sharpserve_model_ready", model.IsReady ? 1 : 0, ModelLabels(model));
        }

        text.Family("sharpserve_queue_depth", "gauge", "Requests waiting for an executor.");
        foreach (ServedModel model in registry.All)
        {
            text.Sample("sharpserve_queue_depth", model.Scheduler.QueuedCount, ModelLabels(model));
        }

        text.Family("sharpserve_inferences_total", "counter", "Inferences run to completion by the model's executors.");
        foreach (ServedModel model in registry.All)
        {
            text.Sample("sharpserve_inferences_total", model.Executor.CompletedCount, ModelLabels(model));
        }

        WriteBatching(text);
        text.Family("sharpserve_model_file_bytes", "gauge", "Size of the mapped model file.");
        foreach (ServedModel model in registry.All)
        {
            text.Sample("sharpserve_model_file_bytes", model.Description.MappedBytes, ModelLabels(model));
        }

        var workers = new List<((string, string)[] Labels, WorkerStatus Status)>();
        text.Family("sharpserve_worker_restarts_total", "counter", "Worker processes lost unexpectedly and replaced.");
        foreach (ServedModel model in registry.All)
        {
            if (model.Executor is IWorkerStatus pool)
            {
                text.Sample("sharpserve_worker_restarts_total", pool.Restarts, ModelLabels(model));
                foreach (WorkerStatus status in pool.GetStatus())
                {
                    workers.Add((WorkerLabels(model, status), status));
                }
            }
        }

        WorkerSeries(text, workers, "sharpserve_worker_private_dirty_bytes", "gauge", "Worker private dirty memory (pages only the worker has written).", static w => w.PrivateDirtyBytes);
        WorkerSeries(text, workers, "sharpserve_worker_private_dirty_growth_bytes", "gauge", "Growth of the worker's private dirty memory since it was ready (what --max-worker-memory counts).", static w => w.PrivateDirtyGrowthBytes);
        WorkerSeries(text, workers, "sharpserve_worker_anonymous_bytes", "gauge", "Worker anonymous memory (heap; where a private model copy would show).", static w => w.AnonymousBytes);
        WorkerSeries(text, workers, "sharpserve_worker_mapped_model_bytes", "gauge", "Worker resident file-backed pages (the shared model image).", static w => w.MappedModelBytes);
        WorkerSeries(text, workers, "sharpserve_worker_pss_bytes", "gauge", "Worker proportional set size.", static w => w.PssBytes);
        WorkerSeries(text, workers, "sharpserve_worker_requests_total", "counter", "Requests answered by the worker.", static w => w.RequestsServed);
    }

    /// <summary>The histograms of the models that batch (max batch size above 1); none when no model does.</summary>
    private void WriteBatching(PrometheusTextWriter text)
    {
        var batching = new List<((string, string)[] Labels, BatchStatistics Statistics)>();
        foreach (ServedModel model in registry.All)
        {
            if (model.Executor is IBatchingExecutor { Batching.IsEnabled: true } executor)
            {
                batching.Add((ModelLabels(model), executor.BatchStatistics));
            }
        }

        if (batching.Count == 0)
        {
            return;
        }

        text.Family("sharpserve_batch_size", "histogram", "Requests per model call of a batching model.");
        foreach (((string, string)[] labels, BatchStatistics statistics) in batching)
        {
            Histogram(text, "sharpserve_batch_size", statistics.BatchSizes, labels);
        }

        text.Family("sharpserve_queue_time_seconds", "histogram", "Time from a request's admission to its model call, for a batching model.");
        foreach (((string, string)[] labels, BatchStatistics statistics) in batching)
        {
            Histogram(text, "sharpserve_queue_time_seconds", statistics.QueueSeconds, labels);
        }
    }

    private static void Histogram(PrometheusTextWriter text, string name, FixedHistogram histogram, (string, string)[] labels)
    {
        Span<long> buckets = stackalloc long[histogram.Bounds.Count];
        long count = histogram.Snapshot(buckets);
        for (int i = 0; i < buckets.Length; i++)
        {
            text.Sample(name + "_bucket", buckets[i], [.. labels, ("le", PrometheusTextWriter.FormatValue(histogram.Bounds[i]))]);
        }

        text.Sample(name + "_bucket", count, [.. labels, ("le", "+Inf")]);
        text.Sample(name + "_sum", histogram.Sum, labels);
        text.Sample(name + "_count", count, labels);
    }

    private static (string, string)[] RequestLabels((string Route, int Status) key) =>
        [("route", key.Route), ("status", key.Status.ToString(CultureInfo.InvariantCulture))];

    /// <summary>model, version: every per-model series carries both, as one name may serve several versions.</summary>
    private static (string, string)[] ModelLabels(ServedModel model) => [("model", model.Name), ("version", model.Version)];

    private static (string, string)[] WorkerLabels(ServedModel model, WorkerStatus worker) =>
    [
        .. ModelLabels(model),
        ("worker", worker.Id.ToString(CultureInfo.InvariantCulture)),
        ("pid", worker.Pid.ToString(CultureInfo.InvariantCulture)),
        ("state", worker.State.ToString().ToLowerInvariant()),
    ];

    private static void WorkerSeries(
        PrometheusTextWriter text, List<((string, string)[] Labels, WorkerStatus Status)> workers, string name, string type, string help, Func<WorkerStatus, long> value)
    {
        text.Family(name, type, help);
        foreach (((string, string)[] labels, WorkerStatus status) in workers)
        {
            text.Sample(name, value(status), labels);
        }
    }

    private static void Gauge(PrometheusTextWriter text, string name, string help, long value)
    {
        text.Family(name, "gauge", help);
        text.Sample(name, value);
    }
}
