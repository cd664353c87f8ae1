using Sharpserve.Abstractions.Images;

namespace Sharpserve.Abstractions;

/// <summary>Where <see cref="IModelBackend.Prepare"/> puts what it makes.</summary>
/// <param name="CacheDirectory">The cache directory (<c>--cache-dir</c>, <c>SHARPSERVE_CACHE_DIR</c> or its default).</param>
/// <param name="Images">The image cache over <paramref name="CacheDirectory"/>, for backends served from model images.</param>
/// <param name="OutputPath">
/// Where <c>sharpserve prepare --output</c> asked for the prepared form, or null for the cache directory. A backend
/// whose prepared form cannot live at a path of the user's choosing refuses it with a <see cref="ModelLoadException"/>.
/// </param>
/// <param name="Progress">Told how a build or bake goes, for a display; null for nothing.</param>
public sealed record ModelPreparationContext(string CacheDirectory, IModelImageCache Images, string? OutputPath = null, IProgress<ProgressReport>? Progress = null);
