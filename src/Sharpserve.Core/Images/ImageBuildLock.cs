using System.Diagnostics;
using Sharpserve.Abstractions;

namespace Sharpserve.Core.Images;

/// <summary>
/// One builder per image at a time, across threads and processes: an exclusive open of <c>IMAGE.lock</c> (flock on
/// Unix, released by the kernel if the holder dies). The holder deletes the file before it closes it, so no lock
/// file is left beside an image (e.g. next to <c>prepare --output</c>). A waiter can then end up holding a file that
/// was just deleted, so after locking it checks that the path still names the file it locked, and starts over if not.
/// </summary>
internal sealed class ImageBuildLock : IDisposable
{
    /// <summary>The step reported while another builder holds the lock.</summary>
    internal const string WaitingStep = "waiting for another process building the same image";

    private const string Suffix = ".lock";
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(100);

    private readonly FileStream _file;
    private readonly string _path;

    private ImageBuildLock(FileStream file, string path)
    {
        _file = file;
        _path = path;
    }

    /// <exception cref="ModelLoadException">Waited longer than <paramref name="timeout"/>, or the lock file cannot be created.</exception>
    public static ImageBuildLock Acquire(string imagePath, string sourceName, TimeSpan timeout, IProgress<ProgressReport>? progress = null)
    {
        string lockPath = imagePath + Suffix;
        long start = Stopwatch.GetTimestamp();
        while (true)
        {
            FileStream file;
            try
            {
                file = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            }
            catch (IOException e) when (IsLockedByAnother(e))
            {
                if (Stopwatch.GetElapsedTime(start) > timeout)
                {
                    throw new ModelLoadException(
                        $"{sourceName}: gave up after {timeout.TotalMinutes:0} minutes waiting for another process building {Path.GetFileName(imagePath)} (lock {lockPath})", e);
                }

                progress?.Report(new ProgressReport(WaitingStep));
                Thread.Sleep(s_pollInterval);
                continue;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ModelLoadException($"{sourceName}: cannot create the lock file {lockPath}: {e.Message}", e);
            }

            if (StillNamedBy(file, lockPath))
            {
                return new ImageBuildLock(file, lockPath);
            }

            file.Dispose(); // the previous holder deleted it after this open: lock the path's current file
        }
    }

    /// <summary>Deletes the lock file, then releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind: harmless, the next builder locks and deletes it.
        }

        _file.Dispose();
    }

    private static bool StillNamedBy(FileStream file, string path)
    {
        try
        {
            SourceFingerprint locked = SourceFingerprint.Of(file.SafeFileHandle, path);
            SourceFingerprint named = SourceFingerprint.Of(path);
            return locked.Inode == named.Inode && locked.Device == named.Device;
        }
        catch (IOException)
        {
            return false; // deleted meanwhile
        }
    }

    // EWOULDBLOCK from flock on Linux; ERROR_SHARING_VIOLATION / ERROR_LOCK_VIOLATION on Windows.
    private static bool IsLockedByAnother(IOException e) =>
        e.GetType() == typeof(IOException) && e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);
}
