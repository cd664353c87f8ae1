namespace Sharpserve.Abstractions;

/// <summary>
/// How far a long piece of work (building a model image, baking a model) has got, reported through
/// <see cref="IProgress{T}"/> to whoever displays it. The work says only what it knows: a step whose size is not
/// known in advance reports no total, and a step that counts no bytes reports none done.
/// </summary>
/// <param name="Step">What is being done now, for people, e.g. "hashing the source", "writing the model image".</param>
/// <param name="BytesDone">Bytes of this step done so far; 0 for a step that counts none.</param>
/// <param name="BytesTotal">Bytes this step will take when it is done, or null when that is not known.</param>
public readonly record struct ProgressReport(string Step, long BytesDone = 0, long? BytesTotal = null);
