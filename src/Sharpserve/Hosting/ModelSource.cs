using Sharpserve.Abstractions;

namespace Sharpserve.Hosting;

/// <summary>
/// A model to serve: the front's own opened copy (metadata, warm-up requests, thread-mode predictions) and,
/// for process mode, the image file workers map and a way to rebuild it when the source changes (reload).
/// <paramref name="Version"/> is the version it is served as (a model repository's version folder; "1" otherwise).
/// </summary>
public sealed record ModelSource(IModel Model, string? ImagePath = null, Func<string>? PrepareImage = null, string Version = "1");
