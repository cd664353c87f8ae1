using System.Buffers;
using System.IO.Hashing;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Core.Images;

public sealed partial class ModelImageCache
{
    private const string TempSuffix = ".tmp";

    // Sequential reads of the source; larger buffers gained nothing measurable on a 1.4 GB model.
    private const int HashBufferBytes = 1 << 20;

    /// <summary>The steps a build reports besides the writer's own (<see cref="ModelImageWriter.ProgressStep"/>).</summary>
    internal const string HashingStep = "hashing the source";
    internal const string SyncingStep = "syncing the image to disk";

    // Writes the image into a temp file next to its final path, seals it (fsync, read-only), checks it opens,
    // and renames it into place. The source is read through one handle whose fingerprint is taken before and
    // after; if the file changed meanwhile (or its path now names another file) the build is retried once.
    private void Build(string sourcePath, string imagePath, IModelImageBackend backend, IProgress<ProgressReport>? progress)
    {
        string sourceName = Path.GetFileName(sourcePath);
        for (int attempt = 1; ; attempt++)
        {
            long startNs = SourceFingerprint.ToNanoseconds(_time.GetUtcNow().UtcDateTime);
            using FileStream source = OpenSource(sourcePath);
            SourceFingerprint before = SourceFingerprint.Of(source.SafeFileHandle, sourcePath);
            UInt128 contentHash = HashContent(source, sourcePath, before.Size, progress);
            var record = new ModelImageSource(
                before.Size,
                contentHash,
                before.ModifiedTimeNs,
                before.ChangeTimeNs,
                before.Inode,
                before.Device,
                FingerprintIsRacy: before.ModifiedTimeNs >= startNs - (RacyWindow.Ticks * 100));

            string temp = CreateTempPath(imagePath);
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 1 << 20))
                {
                    var writer = new ModelImageWriter(file, backend.Name, backend.ImageFormatVersion, record) { Progress = progress };
                    progress?.Report(new ProgressReport(ModelImageWriter.ProgressStep));
                    backend.WriteImage(sourcePath, writer);
                    writer.Complete();

                    // On disk before the rename, so a crash cannot leave a renamed image with unwritten pages. Most
                    // of the image may still be dirty in the page cache, so this can take as long as writing did.
                    progress?.Report(new ProgressReport(SyncingStep));
                    file.Flush(flushToDisk: true);
                }

                SourceFingerprint after = SourceFingerprint.Of(source.SafeFileHandle, sourcePath);
                if (after != before || ReadFingerprint(sourcePath) != before)
                {
                    if (attempt < 2)
                    {
                        continue;
                    }

                    throw new ModelLoadException($"{sourceName}: the file changed while its image was being built; try again when it is complete");
                }

                Publish(temp, imagePath, sourcePath);
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException($"{sourceName}: cannot write the model image {imagePath}: {e.Message}", e);
            }
            finally
            {
                DeleteIfExists(temp);
            }
        }
    }

    // Read-only with the source's read bits (a private model stays private), checked, then renamed atomically.
    private static void Publish(string temp, string imagePath, string sourcePath)
    {
        if (!OperatingSystem.IsWindows())
        {
            const UnixFileMode ReadBits = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            File.SetUnixFileMode(temp, (File.GetUnixFileMode(sourcePath) & ReadBits) | UnixFileMode.UserRead);
        }

        // A writer bug must not publish an image that readers would refuse.
        ModelImage.Open(temp).Dispose();
        File.Move(temp, imagePath, overwrite: true);
    }

    private static FileStream OpenSource(string sourcePath)
    {
        try
        {
            return new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }
        catch (FileNotFoundException e)
        {
            throw new ModelLoadException($"{sourcePath}: no such file", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{Path.GetFileName(sourcePath)}: cannot read the file: {e.Message}", e);
        }
    }

    /// <summary>XXH128 of the whole file, read sequentially from its start.</summary>
    private static UInt128 HashContent(FileStream source, string sourcePath, long expectedSize, IProgress<ProgressReport>? progress)
    {
        var hash = new XxHash128();
        byte[] buffer = ArrayPool<byte>.Shared.Rent(HashBufferBytes);
        try
        {
            long offset = 0;
            int read;
            progress?.Report(new ProgressReport(HashingStep, 0, expectedSize));
            while ((read = RandomAccess.Read(source.SafeFileHandle, buffer, offset)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                offset += read;
                progress?.Report(new ProgressReport(HashingStep, offset, expectedSize));
            }

            return hash.GetCurrentHashAsUInt128();
        }
        catch (IOException e)
        {
            throw new ModelLoadException($"{Path.GetFileName(sourcePath)}: cannot read the file: {e.Message}", e);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CreateDirectory(string directory, string sourceName)
    {
        try
        {
            System.IO.Directory.CreateDirectory(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(
                $"{sourceName}: cannot create the image cache directory {directory}: {e.Message} (set SHARPSERVE_CACHE_DIR or --cache-dir to a writable directory)", e);
        }
    }

    private static string CreateTempPath(string imagePath) =>
        $"{imagePath}.{Environment.ProcessId}-{Guid.NewGuid():N}{TempSuffix}";

    // Temp files of builders that died (the lock is held, so no live builder owns one).
    private static void DeleteAbandonedTempFiles(string imagePath)
    {
        string directory = Path.GetDirectoryName(imagePath)!;
        string pattern = Path.GetFileName(imagePath) + ".*" + TempSuffix;
        foreach (string temp in System.IO.Directory.EnumerateFiles(directory, pattern))
        {
            DeleteIfExists(temp);
        }
    }

    private static void DeleteIfExists(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the next builder removes it.
        }
    }
}
