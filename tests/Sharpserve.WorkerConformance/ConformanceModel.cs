namespace Sharpserve.WorkerConformance;

/// <summary>
/// A model a worker under test serves, with what the suite sends it and expects back.
/// </summary>
/// <param name="Name">The model's name (passed to the launcher; the C# worker takes it as --name).</param>
/// <param name="Reference">What the launcher needs to load it: a path for the C# worker, a module for another.</param>
/// <param name="Cases">Requests with independently computed expected outputs; the first model's cases also drive
/// the pipelining, ping and shutdown tests, so give it several whose answers differ.</param>
/// <param name="BadInputs">Requests that are well-formed frames the model must refuse with an Error of kind
/// BadInput (wrong datatype, wrong shape, a missing input, ...).</param>
public sealed record ConformanceModel(string Name, string Reference, IReadOnlyList<ConformanceCase> Cases, IReadOnlyList<BadInputCase> BadInputs);
