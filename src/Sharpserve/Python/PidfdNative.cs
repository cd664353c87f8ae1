using System.Runtime.InteropServices;

namespace Sharpserve.Python;

/// <summary>
/// The Linux calls that watch and signal a process that is not the front's child (a worker forked by a Python zygote)
/// without ever naming a pid the kernel may have handed to another process since: pidfd_open(2), which pins the
/// process; pidfd_send_signal(2); and poll(2), under which a pidfd turns readable when its process exits. Called
/// through syscall(2): glibc has wrappers only from 2.36, and the numbers (434, 424) are the same on every
/// architecture.
/// </summary>
internal static unsafe partial class PidfdNative
{
    private const long SysPidfdOpen = 434;
    private const long SysPidfdSendSignal = 424;
    private const short PollIn = 0x1;

    public const int SigKill = 9;

    /// <summary>A pidfd for <paramref name="pid"/>; -1 (and errno) when there is no such process.</summary>
    public static int Open(int pid) => (int)Syscall(SysPidfdOpen, pid, 0, 0, 0);

    /// <summary>Sends <paramref name="signal"/> through the pidfd; false when the process has exited (ESRCH).</summary>
    public static bool SendSignal(int pidfd, int signal) => Syscall(SysPidfdSendSignal, pidfd, signal, 0, 0) == 0;

    /// <summary>Whether the process behind <paramref name="pidfd"/> has exited, waiting up to <paramref name="timeoutMs"/>.</summary>
    public static bool WaitExited(int pidfd, int timeoutMs)
    {
        PollFd entry = new() { Fd = pidfd, Events = PollIn };
        int ready = Poll(&entry, 1, timeoutMs);
        return ready > 0 && (entry.Revents & PollIn) != 0;
    }

    [LibraryImport("libc", EntryPoint = "close")]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, long a, long b, long c, long d);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }
}
