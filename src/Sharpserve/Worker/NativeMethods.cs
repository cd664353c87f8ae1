using System.Runtime.InteropServices;

namespace Sharpserve.Worker;

/// <summary>The few libc calls process supervision needs.</summary>
internal static partial class NativeMethods
{
    public const int SigKill = 9;
    public const int SigTerm = 15;

    [LibraryImport("libc", EntryPoint = "getppid")]
    public static partial int GetParentProcessId();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static partial int Kill(int pid, int signal);
}
