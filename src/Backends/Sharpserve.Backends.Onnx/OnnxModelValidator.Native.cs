using System.Runtime.InteropServices;

namespace Sharpserve.Backends.Onnx;

internal static partial class OnnxModelValidator
{
    /// <summary>The canonical path with every symlink resolved (libc realpath), or null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        nint resolved = NativeRealPath(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeFree(resolved);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint NativeRealPath(string path, nint resolvedPath);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void NativeFree(nint pointer);
}
