using System.Globalization;

namespace Sharpserve.Backends.Onnx;

/// <summary>The process's anonymous (private, not file-backed) memory, from <c>/proc/self/smaps_rollup</c>.</summary>
public static class ProcessAnonymousMemory
{
    /// <summary>Bytes of anonymous memory, or 0 where the kernel does not report it.</summary>
    public static long Read()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/smaps_rollup"))
            {
                if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            // Not Linux, or no permission: no measurement.
        }

        return 0;
    }
}
