using System.Collections.Concurrent;
using System.Diagnostics;

namespace Sharpserve.Metrics;

/// <summary>
/// Request counts and latency histograms per (route, status class). Lock-free on the request path: one
/// dictionary lookup of an existing series and a few Interlocked adds.
/// </summary>
internal sealed class RequestMetrics
{
    /// <summary>Upper bounds in seconds; from 100 µs (a fastText predict is a few µs) to 10 s.</summary>
    public static readonly double[] BucketBounds = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly ConcurrentDictionary<(string Route, int Status), Series> _series = new();

    public IEnumerable<KeyValuePair<(string Route, int Status), Series>> All => _series;

    public void Record(string route, int status, long startTimestamp)
    {
        double seconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        Series series = _series.GetOrAdd((route, status), static _ => new Series());
        series.Observe(seconds);
    }

    internal sealed class Series
    {
        private readonly long[] _buckets = new long[BucketBounds.Length];
        private long _count;
        private long _sumMicroseconds;

        public long Count => Interlocked.Read(ref _count);

        public double SumSeconds => Interlocked.Read(ref _sumMicroseconds) / 1e6;

        /// <summary>
        /// Fills <paramref name="cumulative"/> (one per bound) with the observations at or below each bound and returns
        /// the count, which is both the <c>+Inf</c> bucket and <c>_count</c>. The count is read after the buckets and
        /// <see cref="Observe"/> adds to it before its bucket, so under concurrent requests the buckets still never
        /// decrease and never exceed the count.
        /// </summary>
        public long Snapshot(Span<long> cumulative)
        {
            long total = 0;
            for (int i = 0; i < _buckets.Length; i++)
            {
                total += Interlocked.Read(ref _buckets[i]);
                cumulative[i] = total;
            }

            return Interlocked.Read(ref _count);
        }

        public void Observe(double seconds)
        {
            Interlocked.Increment(ref _count);
            Interlocked.Add(ref _sumMicroseconds, (long)(seconds * 1e6));
            for (int i = 0; i < BucketBounds.Length; i++)
            {
                if (seconds <= BucketBounds[i])
                {
                    Interlocked.Increment(ref _buckets[i]);
                    return;
                }
            }
        }
    }
}
