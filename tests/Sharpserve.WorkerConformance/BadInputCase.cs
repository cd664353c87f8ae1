namespace Sharpserve.WorkerConformance;

/// <summary>A well-formed Infer the model must refuse with an Error frame of kind BadInput.</summary>
public sealed record BadInputCase(string Name, WireRequest Request);
