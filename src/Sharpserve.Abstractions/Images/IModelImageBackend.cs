namespace Sharpserve.Abstractions.Images;

/// <summary>
/// A backend that serves its models from a model image: at prepare time it parses the user's model file once
/// and writes everything the hot path reads into image sections (weights copied, indexes precomputed); at serve
/// time it opens the image and reads those sections in place, so every thread and worker process shares one
/// copy and nothing big is rebuilt on a managed heap. Its <see cref="IModelBackend.Prepare"/> hands the source to
/// the image cache (<see cref="ModelPreparationContext.Images"/>), which calls <see cref="WriteImage"/> when the
/// image is missing or stale; its <see cref="IModelBackend.CanLoad"/> accepts the images it wrote, which name it in
/// their header (<see cref="ModelImage.TryReadBackendName"/>).
/// </summary>
public interface IModelImageBackend : IModelBackend
{
    /// <summary>
    /// The layout version of this backend's sections, recorded in every image it writes. Bump it whenever the
    /// sections change; images with another version are stale and get rebuilt.
    /// </summary>
    int ImageFormatVersion { get; }

    /// <summary>
    /// Reads the model file at <paramref name="sourcePath"/> and writes its sections. The caller has created the
    /// writer (with this backend's <see cref="IModelBackend.Name"/> and <see cref="ImageFormatVersion"/>) and
    /// completes it afterwards. Throws <see cref="ModelLoadException"/>, naming the file, when it is unusable.
    /// </summary>
    void WriteImage(string sourcePath, ModelImageWriter writer);
}
