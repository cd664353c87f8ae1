namespace Sharpserve.Hosting;

/// <summary>One row of <c>POST /v2/repository/index</c>, as Triton writes it: a model, one of its versions, its state and why.</summary>
/// <param name="Name">The model's name (its folder's).</param>
/// <param name="Version">The version; null for a model folder without version folders.</param>
/// <param name="State">READY, LOADING, UNLOADING or UNAVAILABLE.</param>
/// <param name="Reason">Why it is not ready ("unloaded", "not loaded", a load's failure); empty when ready.</param>
internal sealed record RepositoryIndexEntry(string Name, string? Version, string State, string Reason);
