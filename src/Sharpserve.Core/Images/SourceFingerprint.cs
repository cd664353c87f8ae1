using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Sharpserve.Core.Images;

/// <summary>
/// What a model file looks like to <c>stat</c>: size, modification and status-change times (nanoseconds since
/// the Unix epoch), inode and device. Compared with the values an image recorded, it tells in microseconds,
/// without reading the file, whether the file is the one the image was built from. The status-change time
/// cannot be set by tools that preserve modification times (cp -p, rsync -t, tar), and the inode changes when a
/// file is replaced by rename. On Linux it comes from <c>statx</c>; elsewhere only size and modification time.
/// </summary>
internal readonly record struct SourceFingerprint(long Size, long ModifiedTimeNs, long ChangeTimeNs, ulong Inode, ulong Device)
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;

    private static bool s_statxMissing;

    /// <summary>The fingerprint of the file at <paramref name="path"/> (following symbolic links).</summary>
    /// <exception cref="IOException">The file cannot be examined.</exception>
    public static SourceFingerprint Of(string path)
    {
        if (TryStatx(AtFdCwd, path, 0, out SourceFingerprint fingerprint))
        {
            return fingerprint;
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"no such file: {path}", path);
        }

        return new SourceFingerprint(info.Length, ToNanoseconds(info.LastWriteTimeUtc), 0, 0, 0);
    }

    /// <summary>The fingerprint of an open file: the file actually being read, whatever its path points to now.</summary>
    public static SourceFingerprint Of(SafeFileHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (TryStatx((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath, out SourceFingerprint fingerprint))
            {
                return fingerprint;
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return new SourceFingerprint(RandomAccess.GetLength(handle), ToNanoseconds(File.GetLastWriteTimeUtc(path)), 0, 0, 0);
    }

    /// <summary>True when every field equals the recorded one.</summary>
    public bool Matches(long size, long modifiedTimeNs, long changeTimeNs, ulong inode, ulong device) =>
        Size == size && ModifiedTimeNs == modifiedTimeNs && ChangeTimeNs == changeTimeNs && Inode == inode && Device == device;

    public static long ToNanoseconds(DateTime utc) => (utc - DateTime.UnixEpoch).Ticks * 100;

    private static bool TryStatx(int directory, string path, int flags, out SourceFingerprint fingerprint)
    {
        fingerprint = default;
        if (!OperatingSystem.IsLinux() || s_statxMissing)
        {
            return false;
        }

        int result;
        try
        {
            result = NativeMethods.Statx(directory, path, flags, StatxBasicStats, out NativeMethods.StatxBuffer buffer);
            if (result == 0)
            {
                fingerprint = new SourceFingerprint(
                    buffer.Size,
                    (buffer.ModifiedSeconds * 1_000_000_000) + buffer.ModifiedNanoseconds,
                    (buffer.ChangedSeconds * 1_000_000_000) + buffer.ChangedNanoseconds,
                    buffer.Inode,
                    ((ulong)buffer.DeviceMajor << 32) | buffer.DeviceMinor);
                return true;
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // An old C library without statx: fall back to size and modification time.
            s_statxMissing = true;
            return false;
        }

        int errno = Marshal.GetLastPInvokeError();
        const int NoSuchFile = 2;
        const int NotADirectory = 20;
        if (errno is NoSuchFile or NotADirectory)
        {
            throw new FileNotFoundException($"no such file: {path}", path);
        }

        throw new IOException($"cannot examine {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        public static extern int Statx(
            int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, out StatxBuffer buffer);

        // struct statx (linux/stat.h): the same layout on every architecture.
        [StructLayout(LayoutKind.Explicit, Size = 256)]
        public struct StatxBuffer
        {
            [FieldOffset(32)] public ulong Inode;
            [FieldOffset(40)] public long Size;
            [FieldOffset(96)] public long ChangedSeconds;
            [FieldOffset(104)] public uint ChangedNanoseconds;
            [FieldOffset(112)] public long ModifiedSeconds;
            [FieldOffset(120)] public uint ModifiedNanoseconds;
            [FieldOffset(136)] public uint DeviceMajor;
            [FieldOffset(140)] public uint DeviceMinor;
        }
    }
}
