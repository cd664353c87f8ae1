namespace Sharpserve.Supervision;

/// <summary>
/// Whether a worker is alive and getting on with its requests, judged from what the front receives, so that a
/// long write does not look like death: a 40 MB answer takes longer than a short <c>--timeout</c> to cross the
/// socket, and the worker's Pong waits behind it. Any bytes from the worker are a sign of life; bytes of an answer
/// (a Result or Error frame, whole or still arriving) are progress. An idle worker is <b>silent</b> when nothing at
/// all arrived for the timeout after a Ping was sent. A worker with requests is <b>stuck</b> when its oldest request is older than the
/// timeout and either no answer bytes arrived for the timeout, or that request has been overtaken (a later request
/// was answered) for longer than the timeout: a request that hangs while the worker answers others.
/// </summary>
internal sealed class WorkerProgress
{
    private long _lastHeardTimestamp;
    private long _lastAnswerTimestamp;
    private long _highestAnsweredId;
    private long _pingFlushedTimestamp;
    private long _flushedRequestId;

    // Only the heartbeat (one pass at a time) reads and writes these.
    private ulong _overtakenId;
    private long _overtakenSinceTimestamp;

    /// <summary>Bytes arrived; <paramref name="answer"/> when they are (part of) a Result or Error frame.</summary>
    public void Heard(long now, bool answer)
    {
        Volatile.Write(ref _lastHeardTimestamp, now);
        if (answer)
        {
            Volatile.Write(ref _lastAnswerTimestamp, now);
        }
    }

    /// <summary>The answer to <paramref name="requestId"/> arrived whole.</summary>
    public void Answered(ulong requestId)
    {
        long id = (long)requestId;
        long highest = Volatile.Read(ref _highestAnsweredId);
        while (id > highest)
        {
            long seen = Interlocked.CompareExchange(ref _highestAnsweredId, id, highest);
            if (seen == highest)
            {
                return;
            }

            highest = seen;
        }
    }

    /// <summary>
    /// The writer loop flushed a batch holding Infer frames up to <paramref name="highestRequestId"/> (0: none) and
    /// a Ping if <paramref name="ping"/>. Time is counted from what the worker was actually sent: when the front's
    /// own threads are busy (large JSON answers on few cores), its Pings and requests leave late, and the worker
    /// must not be blamed for that.
    /// </summary>
    public void Flushed(long now, ulong highestRequestId, bool ping)
    {
        if (ping && Volatile.Read(ref _pingFlushedTimestamp) <= Volatile.Read(ref _lastHeardTimestamp))
        {
            Volatile.Write(ref _pingFlushedTimestamp, now); // the first Ping sent since the worker was last heard
        }

        if ((long)highestRequestId > Volatile.Read(ref _flushedRequestId))
        {
            Volatile.Write(ref _flushedRequestId, (long)highestRequestId);
        }
    }

    /// <summary>A Ping went out more than the timeout ago and nothing at all has come back since.</summary>
    public bool IsSilent(long now, long timeoutTicks)
    {
        long ping = Volatile.Read(ref _pingFlushedTimestamp);
        return ping > Volatile.Read(ref _lastHeardTimestamp) && now - ping > timeoutTicks;
    }

    /// <summary>Heartbeat only: whether the oldest request held (<paramref name="oldestId"/>, sent at <paramref name="oldestSent"/>) is stuck.</summary>
    public bool IsStuck(long now, long timeoutTicks, ulong oldestId, long oldestSent)
    {
        if (oldestId == 0 || now - oldestSent <= timeoutTicks || oldestId > (ulong)Volatile.Read(ref _flushedRequestId))
        {
            return false; // none, young, or not even sent yet
        }

        if (now - Volatile.Read(ref _lastAnswerTimestamp) > timeoutTicks)
        {
            return true;
        }

        if (oldestId >= (ulong)Volatile.Read(ref _highestAnsweredId))
        {
            return false; // answers are arriving and none has passed it: it is on its way
        }

        if (_overtakenId != oldestId)
        {
            _overtakenId = oldestId;
            _overtakenSinceTimestamp = now;
        }

        return now - _overtakenSinceTimestamp > timeoutTicks;
    }
}
