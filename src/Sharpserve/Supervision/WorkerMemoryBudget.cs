namespace Sharpserve.Supervision;

/// <summary>
/// --max-worker-memory and --max-requests as the supervisor applies them: why a Ready worker is due for replacement,
/// and whether a fresh worker's own size already breaks the memory budget.
/// </summary>
internal sealed class WorkerMemoryBudget(long budgetBytes)
{
    public long BudgetBytes { get; } = budgetBytes;

    /// <summary>Why <paramref name="worker"/> (Ready, memory just measured) should be replaced, or null.</summary>
    public string? RecycleReason(Worker worker)
    {
        if (worker.MaxRequests > 0 && worker.Served >= worker.MaxRequests)
        {
            return $"served {worker.Served} requests (--max-requests)";
        }

        if (BudgetBytes > 0 && worker.ReadyAnonymousBytes <= BudgetBytes && worker.Memory.AnonymousBytes > BudgetBytes)
        {
            return $"uses {worker.Memory.AnonymousBytes / (1 << 20)} MiB of anonymous memory (--max-worker-memory)";
        }

        return null;
    }

    /// <summary>
    /// Measures <paramref name="worker"/> as it turns Ready, before any request. Returns null when it fits the budget
    /// (or there is none), else how much it uses in MiB: a worker already over the budget can never meet it, since
    /// every replacement is as big.
    /// </summary>
    public long? OverBudgetAtReady(Worker worker)
    {
        worker.Memory = ProcessMemory.Read(worker.Pid);
        worker.ReadyAnonymousBytes = worker.Memory.AnonymousBytes;
        return BudgetBytes <= 0 || worker.ReadyAnonymousBytes <= BudgetBytes
            ? null
            : (worker.ReadyAnonymousBytes + (1 << 20) - 1) >> 20;
    }

    /// <summary>The start-up failure for a first worker over the budget.</summary>
    public string FreshWorkerMessage(Worker worker, long sizeMiB) =>
        $"--max-worker-memory {BudgetBytes >> 20} MiB is below what a fresh worker already uses: worker {worker.Id} uses {sizeMiB} MiB of anonymous memory when Ready, before any request, so every worker would be recycled as soon as it starts; set it well above {sizeMiB}m, or leave it unset";
}
