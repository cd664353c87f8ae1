namespace Sharpserve.Abstractions;

/// <summary>
/// The outcome of preparing a model (<see cref="IModelBackend.Prepare"/>): where its prepared form is, what was
/// done, and why (for logs). The prepared form is a model image, or a backend's own (ONNX: the baked model).
/// </summary>
/// <param name="PreparedPath">A valid, fresh prepared form of the source: what serving opens and workers map.</param>
/// <param name="Action">Whether it was reused or built.</param>
/// <param name="Reason">Why it was built, e.g. "no image yet"; empty when reused.</param>
public sealed record ModelPreparation(string PreparedPath, ModelPreparationAction Action, string Reason);
