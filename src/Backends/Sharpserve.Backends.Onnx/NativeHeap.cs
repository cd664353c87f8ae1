using System.Runtime.InteropServices;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Gives freed native heap memory back to the kernel. ONNX Runtime allocates a model's prepacked weights with
/// malloc; once a session is disposed, glibc keeps the free chunks that came from its heap (every allocation
/// below its mmap threshold, which rises to 32 MiB after the first large free) as the process's anonymous memory.
/// After baking, that was a copy-sized residue in the front (a 90 MiB conv net: 129 MiB of anonymous memory
/// kept by a process that serves nothing from it).
/// </summary>
internal static partial class NativeHeap
{
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): nothing to give back this way.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
