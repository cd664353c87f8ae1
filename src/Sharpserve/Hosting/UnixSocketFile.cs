using System.Net.Sockets;

namespace Sharpserve.Hosting;

/// <summary>
/// The file of a Unix-socket listener: a stale one (left by a killed server) is removed before binding, a live one
/// or a file that is not a socket is refused; once bound the socket gets mode 0660 (owner and group, the usual way
/// to let nginx's group in); it is removed on exit.
/// </summary>
internal static partial class UnixSocketFile
{
    private const UnixFileMode SocketMode =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite;

    /// <exception cref="ListenException">The path cannot be bound; the message names it.</exception>
    public static void PrepareForBind(string path)
    {
        string? directory = Path.GetDirectoryName(path);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new ListenException($"cannot listen on unix:{path}: the directory {directory} does not exist");
        }

        if (path.Length > 107)
        {
            // sun_path holds 108 bytes with the terminating NUL.
            throw new ListenException($"cannot listen on unix:{path}: a Unix socket path is at most 107 bytes long");
        }

        if (!File.Exists(path) && !Directory.Exists(path))
        {
            return;
        }

        if (!IsSocket(path))
        {
            throw new ListenException($"cannot listen on unix:{path}: the path exists and is not a socket");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            // Nobody accepts on it: a stale socket of a server that did not exit cleanly.
            File.Delete(path);
            return;
        }

        throw new ListenException($"cannot listen on unix:{path}: another process is listening on it");
    }

    /// <summary>Mode 0660 on the bound socket.</summary>
    public static void Secure(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, SocketMode);
        }
    }

    /// <summary>Removes the socket file if it is still there and still a socket.</summary>
    public static void Remove(string path)
    {
        try
        {
            if (File.Exists(path) && IsSocket(path))
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort at exit: a leftover socket is removed as stale by the next start.
        }
    }

    /// <summary>True when <paramref name="path"/> is a socket (S_IFSOCK), from <c>statx</c> without following a symlink.</summary>
    private static unsafe bool IsSocket(string path)
    {
        const int AtFdCwd = -100;
        const int AtSymlinkNoFollow = 0x100;
        const uint StatxType = 0x1;
        const int ModeOffset = 0x1C; // struct statx: stx_mode (u16), the same on every architecture
        const int FileTypeMask = 0xF000; // S_IFMT
        const int SocketType = 0xC000; // S_IFSOCK
        byte* buffer = stackalloc byte[256];
        return Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxType, buffer) == 0 &&
            (*(ushort*)(buffer + ModeOffset) & FileTypeMask) == SocketType;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "statx", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int directoryFd, string path, int flags, uint mask, byte* buffer);
}
