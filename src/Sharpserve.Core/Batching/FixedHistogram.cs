namespace Sharpserve.Core.Batching;

/// <summary>
/// Counts of observations at or below fixed bounds, with their count and sum: a Prometheus histogram's data,
/// lock-free (Interlocked adds), read at scrape time.
/// </summary>
public sealed class FixedHistogram
{
    private readonly double[] _bounds;
    private readonly long[] _buckets;
    private readonly double _sumScale;
    private long _count;
    private long _scaledSum;

    /// <param name="bounds">Upper bounds, ascending.</param>
    /// <param name="sumScale">The sum is kept as a whole number of 1 / this (e.g. 1e6 for seconds to µs).</param>
    public FixedHistogram(double[] bounds, double sumScale = 1)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        _bounds = bounds;
        _buckets = new long[bounds.Length];
        _sumScale = sumScale;
    }

    public IReadOnlyList<double> Bounds => _bounds;

    public long Count => Interlocked.Read(ref _count);

    public double Sum => Interlocked.Read(ref _scaledSum) / _sumScale;

    public void Observe(double value)
    {
        // The count goes up before the bucket, and is read after the buckets: a snapshot taken meanwhile never
        // shows buckets above the count.
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _scaledSum, (long)(value * _sumScale));
        for (int i = 0; i < _bounds.Length; i++)
        {
            if (value <= _bounds[i])
            {
                Interlocked.Increment(ref _buckets[i]);
                return;
            }
        }
    }

    /// <summary>Fills <paramref name="cumulative"/> (one per bound) with the observations at or below each bound; returns the count.</summary>
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
}
