namespace Sharpserve.Abstractions.Images;

/// <summary>
/// Where image backends' images are built and kept: the server's image cache, which decides staleness and builds
/// atomically (docs/formats/model-image.md). An image backend's <see cref="IModelBackend.Prepare"/> hands its
/// source to it; the cache calls back <see cref="IModelImageBackend.WriteImage"/> when an image must be built.
/// </summary>
public interface IModelImageCache
{
    /// <summary>A valid, fresh image for <paramref name="sourcePath"/> in the cache directory, built if needed.</summary>
    /// <exception cref="ModelLoadException">The source is unusable, or the image cannot be written; the message names the file.</exception>
    ModelPreparation Prepare(string sourcePath, IModelImageBackend backend, IProgress<ProgressReport>? progress = null);

    /// <summary>A valid, fresh image for <paramref name="sourcePath"/> at <paramref name="imagePath"/>, built if needed.</summary>
    /// <exception cref="ModelLoadException">
    /// The source is unusable, the image cannot be written, or <paramref name="imagePath"/> is a file that must not be overwritten.
    /// </exception>
    ModelPreparation PrepareAt(string sourcePath, string imagePath, IModelImageBackend backend, IProgress<ProgressReport>? progress = null);
}
