namespace Sharpserve.Core.Execution;

/// <summary>
/// An executor that is warm with part of its capacity and holds the rest back until the host has warmed its own
/// request path through it (process mode, for a model whose load is CPU-bound: the other workers start after).
/// </summary>
public interface IStagedStart
{
    /// <summary>Starts what was held back.</summary>
    void StartRemaining();
}
