using System.Collections.Concurrent;

namespace Sharpserve.Supervision;

/// <summary>
/// The requests one worker holds, by request id, with a count that is cheap to read: the router reads every
/// Ready worker's load on every request, and <see cref="ConcurrentDictionary{TKey, TValue}.Count"/> takes all of
/// the dictionary's locks. The count may lag an add or a remove by an instant, which load balancing tolerates;
/// <see cref="IsEmpty"/>, which decides that a draining worker may be shut down, asks the dictionary itself.
/// </summary>
internal sealed class InFlightTable
{
    private readonly ConcurrentDictionary<ulong, InFlightRequest> _requests = new();
    private int _count;

    /// <summary>About how many requests are held (for load balancing and status).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Exactly whether no request is held.</summary>
    public bool IsEmpty => _requests.IsEmpty;

    public ICollection<ulong> Ids => _requests.Keys;

    public void Add(ulong id, InFlightRequest request)
    {
        _requests[id] = request;
        Interlocked.Increment(ref _count);
    }

    public bool TryRemove(ulong id, out InFlightRequest request)
    {
        if (!_requests.TryRemove(id, out request))
        {
            return false;
        }

        Interlocked.Decrement(ref _count);
        return true;
    }

    /// <summary>The id and send time of the oldest request held, or (0, long.MaxValue).</summary>
    public (ulong Id, long SentTimestamp) Oldest()
    {
        (ulong Id, long SentTimestamp) oldest = (0, long.MaxValue);
        foreach (KeyValuePair<ulong, InFlightRequest> entry in _requests)
        {
            if (entry.Value.SentTimestamp < oldest.SentTimestamp)
            {
                oldest = (entry.Key, entry.Value.SentTimestamp);
            }
        }

        return oldest;
    }
}
