namespace Sharpserve.Core.Images;

/// <summary>The outcome of preparing an image: where it is, what was done, and why (for logs).</summary>
/// <param name="ImagePath">A valid, fresh image for the source.</param>
/// <param name="Action">Whether it was reused or built.</param>
/// <param name="Reason">Why it was built, e.g. "no image yet"; empty when reused.</param>
public sealed record ModelImagePreparation(string ImagePath, ModelImagePreparationAction Action, string Reason);
