using Sharpserve.Abstractions;

namespace Sharpserve.Hosting;

/// <summary>
/// A model to serve: the front's own opened copy (metadata, warm-up requests, thread-mode predictions) and,
/// for process mode, the image file workers map and a way to rebuild it when the source changes (reload).
/// <paramref name="Version"/> is the version it is served as (a model repository's version folder; "1" otherwise).
/// </summary>
public sealed record ModelSource(IModel Model, string? ImagePath = null, Func<string>? PrepareImage = null, string Version = "1")
{
    /// <summary>
    /// Process mode: whether all workers may load the model at once. True when a worker's load costs little CPU
    /// (a model image is mapped, not parsed): they start together and are ready together, so the first requests
    /// meet no sibling still starting. False (the default, e.g. ONNX, whose session creation prepacks every weight):
    /// one worker loads alone first, so readiness is not delayed by N loads sharing the cores (docs/architecture.md).
    /// </summary>
    public bool WorkersStartTogether { get; init; }
}
