using Microsoft.AspNetCore.Http;

namespace Sharpserve.Hosting;

/// <summary>
/// Lets an unload wait for exactly the requests that may still hold the model it removed: every request counts itself
/// into the current epoch before routing looks a model up; <see cref="WaitForEarlierRequestsAsync"/> starts a new
/// epoch and waits until the old one has no request left. A request counted into the new epoch looks the registry up
/// after the model left it, so it cannot reach that model. The request path pays two interlocked operations and no
/// allocation; the repository API's own requests (HTTP and gRPC) are not counted, so an unload never waits for itself.
/// gRPC calls are counted too (<see cref="CountAsync"/>, from the gRPC gate): an unload waits for a ModelInfer in flight.
/// </summary>
internal sealed class RequestEpochs
{
    private volatile Epoch _current = new();

    /// <summary>Middleware: counts the request into the current epoch for as long as it runs.</summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next) => CountAsync(context, next);

    /// <summary>Runs <paramref name="next"/> counted into the current epoch, unless it is a repository request.</summary>
    public async Task CountAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.Request.Path.StartsWithSegments("/v2/repository", StringComparison.Ordinal) ||
            (context.Request.Path.StartsWithSegments("/inference.GRPCInferenceService", StringComparison.Ordinal) &&
             context.Request.Path.Value!.Contains("/Repository", StringComparison.Ordinal)))
        {
            await next(context);
            return;
        }

        Epoch epoch = _current;
        Interlocked.Increment(ref epoch.Count);
        try
        {
            await next(context);
        }
        finally
        {
            epoch.Leave();
        }
    }

    /// <summary>Completes once every request that started before this call has been answered.</summary>
    public Task WaitForEarlierRequestsAsync()
    {
        Epoch old = Interlocked.Exchange(ref _current, new Epoch());
        old.Leave(); // the epoch's own count, held while it was current
        return old.Drained.Task;
    }

    private sealed class Epoch
    {
        /// <summary>Requests in it, plus one while it is current.</summary>
        public int Count = 1;

        public readonly TaskCompletionSource Drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Leave()
        {
            if (Interlocked.Decrement(ref Count) == 0)
            {
                Drained.TrySetResult();
            }
        }
    }
}
