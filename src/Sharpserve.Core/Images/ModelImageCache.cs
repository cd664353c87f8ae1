using System.IO.Hashing;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Core.Images;

/// <summary>
/// Keeps one model image per source file in a cache directory and makes sure it is valid and fresh before it is
/// mapped. A fresh image costs a <c>stat</c> of the source and an open of the image; a missing, invalid or stale
/// one is built into a temp file, made read-only and renamed over the old one atomically, so a process that
/// has the old image mapped keeps its (unlinked) copy and a reader never sees a half-written file. Concurrent
/// preparers (threads or processes) are safe: builders take a lock file, and the others wait for the result.
/// Staleness rules: docs/formats/model-image.md.
/// </summary>
public sealed partial class ModelImageCache : IModelImageCache
{
    /// <summary>
    /// A source modified this close to the build may be written again within the same file-system clock tick
    /// without its fingerprint changing (ext4 uses a coarse clock, FAT has 2 s steps); such an image is marked
    /// racy and rebuilt by the next prepare, whose fingerprint is then old enough to be trusted.
    /// </summary>
    public static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    private readonly TimeProvider _time;

    /// <param name="directory">Where images are kept; created when the first image is built.</param>
    /// <param name="timeProvider">The clock that decides whether a source was modified just before its build.</param>
    public ModelImageCache(string directory, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
        _time = timeProvider ?? TimeProvider.System;
    }

    public string Directory { get; }

    /// <summary>How long a preparer waits for another one building the same image before giving up.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The image path for a source: its file name (for people) and a hash of its full path (for uniqueness),
    /// e.g. <c>large-3f2a9c0d1e4b5a6f.ssimg</c>. Two paths to the same file get two images.
    /// </summary>
    public string GetImagePath(string sourcePath)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        string fullPath = Path.GetFullPath(sourcePath);
        ulong pathHash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(fullPath));
        var name = new StringBuilder();
        foreach (char c in Path.GetFileNameWithoutExtension(fullPath))
        {
            if (name.Length == 64)
            {
                break;
            }

            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        return Path.Combine(Directory, $"{name}-{pathHash:x16}{ModelImageFormat.Extension}");
    }

    /// <summary>Returns a valid image for <paramref name="sourcePath"/> in the cache directory, building it if needed.</summary>
    /// <param name="sourcePath">The model file.</param>
    /// <param name="backend">The backend that writes its image.</param>
    /// <param name="progress">Told how a build goes (waiting for another builder, hashing, writing, syncing); null for nothing.</param>
    /// <exception cref="ModelLoadException">The source is unusable, or the image cannot be written; the message names the file.</exception>
    public ModelPreparation Prepare(string sourcePath, IModelImageBackend backend, IProgress<ProgressReport>? progress = null) =>
        Prepare(sourcePath, GetImagePath(sourcePath), backend, protectForeignFile: false, progress);

    /// <summary>Returns a valid image for <paramref name="sourcePath"/> at <paramref name="imagePath"/>, building it if needed.</summary>
    /// <exception cref="ModelLoadException">
    /// The source is unusable, the image cannot be written, or <paramref name="imagePath"/> is an existing file
    /// that is neither a model image nor named <c>*.ssimg</c> (so a typo cannot overwrite a model).
    /// </exception>
    public ModelPreparation PrepareAt(string sourcePath, string imagePath, IModelImageBackend backend, IProgress<ProgressReport>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(imagePath);
        return Prepare(sourcePath, imagePath, backend, protectForeignFile: true, progress);
    }

    private ModelPreparation Prepare(
        string sourcePath, string imagePath, IModelImageBackend backend, bool protectForeignFile, IProgress<ProgressReport>? progress)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(backend);
        string sourceName = Path.GetFileName(sourcePath);
        imagePath = Path.GetFullPath(imagePath);
        if (string.Equals(Path.GetFullPath(sourcePath), imagePath, StringComparison.Ordinal))
        {
            throw new ModelLoadException($"{sourceName}: the image cannot be written over its own source");
        }

        SourceFingerprint fingerprint = ReadFingerprint(sourcePath);
        Freshness freshness = CheckFreshness(imagePath, backend, fingerprint);
        if (freshness.IsFresh)
        {
            return new ModelPreparation(imagePath, ModelPreparationAction.Reused, "");
        }

        if (protectForeignFile && File.Exists(imagePath) && !ModelImage.HasImageMagic(imagePath) &&
            !imagePath.EndsWith(ModelImageFormat.Extension, StringComparison.Ordinal))
        {
            throw new ModelLoadException(
                $"{Path.GetFileName(imagePath)}: exists and is not a Sharpserve model image; refusing to overwrite it");
        }

        CreateDirectory(Path.GetDirectoryName(imagePath)!, sourceName);
        using ImageBuildLock buildLock = ImageBuildLock.Acquire(imagePath, sourceName, LockTimeout, progress);

        // Another preparer may have finished while this one waited for the lock.
        fingerprint = ReadFingerprint(sourcePath);
        freshness = CheckFreshness(imagePath, backend, fingerprint);
        if (freshness.IsFresh)
        {
            return new ModelPreparation(imagePath, ModelPreparationAction.Reused, "");
        }

        DeleteAbandonedTempFiles(imagePath);
        Build(sourcePath, imagePath, backend, progress);
        return new ModelPreparation(imagePath, ModelPreparationAction.Built, freshness.Reason);
    }

    private static SourceFingerprint ReadFingerprint(string sourcePath)
    {
        try
        {
            return SourceFingerprint.Of(sourcePath);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelLoadException($"{sourcePath}: no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{sourcePath}: cannot read the file: {e.Message}", e);
        }
    }

    // Fresh: a valid image of this backend's version whose recorded source size and fingerprint equal the
    // source's now, and that is not racy. Anything else rebuilds: measured on a 1.4 GB model, hashing the source
    // to prove it unchanged (0.45 s) and copying the image with a new header (1.4 s) cost as much as a rebuild
    // (1.9 s), so a fingerprint change is not worth a cheaper path.
    private static Freshness CheckFreshness(string imagePath, IModelImageBackend backend, SourceFingerprint fingerprint)
    {
        if (!File.Exists(imagePath))
        {
            return Freshness.Stale("no image yet");
        }

        ModelImage image;
        try
        {
            image = ModelImage.Open(imagePath);
        }
        catch (ModelLoadException e)
        {
            return Freshness.Stale($"the image is unusable ({e.Message})");
        }

        using (image)
        {
            if (image.BackendName != backend.Name || image.BackendFormatVersion != backend.ImageFormatVersion)
            {
                return Freshness.Stale(
                    $"the image is {image.BackendName} format version {image.BackendFormatVersion}; this build writes {backend.Name} version {backend.ImageFormatVersion}");
            }

            ModelImageSource source = image.Source;
            if (source.Size != fingerprint.Size)
            {
                return Freshness.Stale($"the source's size changed from {source.Size} to {fingerprint.Size} bytes");
            }

            if (!fingerprint.Matches(source.Size, source.ModifiedTimeNs, source.ChangeTimeNs, source.Inode, source.Device))
            {
                return Freshness.Stale("the source's modification time, status-change time, inode or device changed");
            }

            return source.FingerprintIsRacy
                ? Freshness.Stale("the source was modified just before the image was built, so its fingerprint cannot be trusted")
                : Freshness.Fresh;
        }
    }

    private readonly record struct Freshness(bool IsFresh, string Reason)
    {
        public static Freshness Fresh => new(true, "");

        public static Freshness Stale(string reason) => new(false, reason);
    }
}
