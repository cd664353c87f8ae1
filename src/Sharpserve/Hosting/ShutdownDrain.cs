using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Sharpserve.Abstractions;
using Sharpserve.Http;

namespace Sharpserve.Hosting;

/// <summary>
/// Graceful shutdown for requests: every request received before SIGTERM / SIGINT (its headers read; its body
/// may still be uploading, or it may wait in a model's queue) runs to its answer, and every request received
/// after it (a new request on a connection that was already open) is answered 503 with <c>Connection: close</c>
/// at once. As a lifecycle service it holds the host in <see cref="StoppingAsync"/>, before Kestrel is told to
/// stop (which would close the connections), until the requests it let in are answered or the host's shutdown
/// timeout (<c>--graceful-timeout</c>) ends the wait.
/// </summary>
internal sealed class ShutdownDrain(Action onShutdown) : IHostedLifecycleService
{
    private static readonly InferError s_shuttingDown =
        new(InferErrorKind.ShuttingDown, "the server is shutting down; send the request again on a new connection (to another instance)");

    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _shuttingDown;

    /// <summary>Requests received before shutdown and not yet answered (<c>/metrics</c> shows it).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public bool IsShuttingDown => Volatile.Read(ref _shuttingDown) == 1;

    /// <summary>
    /// From now on requests are refused; runs the shutdown callback (readiness false) once. Called at the signal
    /// (ApplicationStopping) and by <see cref="StoppingAsync"/>, which a programmatic stop reaches first.
    /// </summary>
    public void BeginShutdown()
    {
        // Interlocked: a full fence between raising the flag and reading the count (see InvokeAsync).
        if (Interlocked.Exchange(ref _shuttingDown, 1) == 0)
        {
            onShutdown();
        }

        if (Volatile.Read(ref _inFlight) == 0)
        {
            _drained.TrySetResult();
        }
    }

    /// <summary>Middleware: counts the request in, or refuses it when shutdown has begun.</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // Count first, then look at the flag: BeginShutdown raises the flag first, then reads the count, so a
        // request either is seen by the drain or sees the flag.
        Interlocked.Increment(ref _inFlight);
        try
        {
            if (IsShuttingDown)
            {
                context.Response.Headers.Connection = "close";
                if (!IsObservation(context.Request))
                {
                    await HttpErrors.WriteAsync(context, s_shuttingDown);
                    return;
                }
            }

            await next(context);
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0 && IsShuttingDown)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>
    /// Counts a gRPC request in and out without ever answering it: gRPC refuses with its own status codes once
    /// shutdown has begun (Grpc/GrpcInferenceService), and a request it let in is waited for like any other.
    /// </summary>
    public async Task CountAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(next);
        Interlocked.Increment(ref _inFlight);
        try
        {
            await next(context);
        }
        finally
        {
            if (Interlocked.Decrement(ref _inFlight) == 0 && IsShuttingDown)
            {
                _drained.TrySetResult();
            }
        }
    }

    /// <summary>Holds the host's stop until every admitted request is answered, or its shutdown timeout passes.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        BeginShutdown();
        try
        {
            await _drained.Task.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // --graceful-timeout: Kestrel is stopped next with the same expired token and aborts what is left.
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Health, status and metrics still answer during the drain (readiness then says 503), with Connection: close.</summary>
    private static bool IsObservation(HttpRequest request) =>
        (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) &&
        (request.Path.StartsWithSegments("/v2/health", StringComparison.Ordinal) ||
         request.Path.StartsWithSegments("/status", StringComparison.Ordinal) ||
         request.Path.StartsWithSegments("/metrics", StringComparison.Ordinal));
}
