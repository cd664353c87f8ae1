using System.Diagnostics;

namespace Sharpserve.LoadClient;

/// <summary>
/// A closed loop: each of <c>conns</c> callers sends its next request as soon as the previous one is answered, for
/// a warm-up (not counted) and then a fixed duration. The run is bounded by time, never by a request count.
/// </summary>
internal static class ClosedLoop
{
    /// <summary>One request: true when it was answered as expected, false (or an exception) when it failed.</summary>
    public delegate Task<bool> Call(int caller, CancellationToken cancellationToken);

    public static async Task<LoadResult> RunAsync(string name, int conns, int textsPerRequest, TimeSpan warmup,
        TimeSpan duration, Call call)
    {
        long start = Stopwatch.GetTimestamp();
        long measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        long measureTo = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        // Bounded even when a call hangs: the loop ends 10 s after the measured window whatever happens.
        using var cts = new CancellationTokenSource(warmup + duration + TimeSpan.FromSeconds(10));
        var latencies = new List<long>[conns];
        var errors = new long[conns];
        var firstError = new string?[conns];
        var callers = new Task[conns];
        for (int i = 0; i < conns; i++)
        {
            int caller = i;
            latencies[caller] = new List<long>(1 << 14);
            callers[caller] = Task.Run(async () =>
            {
                while (true)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    if (t0 >= measureTo)
                    {
                        return;
                    }

                    bool ok;
                    string? error = null;
                    try
                    {
                        ok = await call(caller, cts.Token).ConfigureAwait(false);
                        if (!ok)
                        {
                            error = "unexpected answer";
                        }
                    }
                    catch (Exception e) when (!cts.IsCancellationRequested || e is not OperationCanceledException)
                    {
                        ok = false;
                        error = e.GetType().Name + ": " + e.Message;
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    long t1 = Stopwatch.GetTimestamp();
                    // A request counts when it was sent inside the measured window.
                    if (t0 >= measureFrom)
                    {
                        if (ok)
                        {
                            latencies[caller].Add(t1 - t0);
                        }
                        else
                        {
                            errors[caller]++;
                            firstError[caller] ??= error;
                        }
                    }
                }
            });
        }

        await Task.WhenAll(callers).ConfigureAwait(false);
        // The window ends when the last request sent inside it is answered.
        double seconds = Math.Max(duration.TotalSeconds,
            (double)(Stopwatch.GetTimestamp() - measureFrom) / Stopwatch.Frequency);
        var all = latencies.SelectMany(l => l).ToArray();
        Array.Sort(all);
        long requests = all.Length;
        return new LoadResult(name, conns, textsPerRequest, seconds, requests, errors.Sum(),
            requests / seconds, requests * (double)textsPerRequest / seconds, Percentile(all, 0.50),
            Percentile(all, 0.99), firstError.FirstOrDefault(e => e is not null));
    }

    private static double? Percentile(long[] sorted, double q) =>
        sorted.Length == 0 ? null : sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))] * 1000.0 / Stopwatch.Frequency;
}
