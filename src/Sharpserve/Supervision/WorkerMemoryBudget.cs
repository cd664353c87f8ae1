namespace Sharpserve.Supervision;

/// <summary>
/// <c>--max-worker-memory</c>: how much a worker's private memory (Private_Dirty in smaps_rollup) may grow after it
/// said Ready. Growth rather than size: what a worker holds at Ready (the runtime, the backend's own structures)
/// its replacement holds too, so only what it gained while serving (a leak, a grown cache) is given back by
/// recycling it. Private_Dirty rather than Anonymous: a forked worker's pages that it still shares with its parent
/// are anonymous but not private until it writes them.
/// </summary>
internal static class WorkerMemoryBudget
{
    /// <summary>Private_Dirty gained since Ready; 0 before Ready (<paramref name="atReady"/> null) and when it shrank.</summary>
    public static long Growth(ProcessMemory now, ProcessMemory? atReady) =>
        atReady is { } ready ? Math.Max(0, now.PrivateDirtyBytes - ready.PrivateDirtyBytes) : 0;

    /// <summary>
    /// The recycle reason, naming the growth and the budget, when the worker grew more than
    /// <paramref name="budgetBytes"/> since Ready; null when it did not or no budget is set (0).
    /// </summary>
    public static string? Exceeded(long budgetBytes, ProcessMemory now, ProcessMemory? atReady)
    {
        long growth = Growth(now, atReady);
        return budgetBytes > 0 && growth > budgetBytes
            ? $"grew its private memory by {growth >> 20} MiB since it was ready, more than {budgetBytes >> 20} MiB (--max-worker-memory)"
            : null;
    }
}
