using System.Runtime.InteropServices;

namespace Sharpserve.Worker;

/// <summary>
/// The libc calls of a worker: getppid, to notice that the front is gone; and kill, with which the functional
/// tests SIGKILL a worker.
/// </summary>
internal static partial class NativeMethods
{
    [LibraryImport("libc", EntryPoint = "getppid")]
    public static partial int GetParentProcessId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
