using System.Reflection;
using System.Security.Cryptography;

namespace Sharpserve.Demo;

/// <summary>
/// The embedded language-identification model served when no model is given. Models are served from a file
/// mapping, so it is written once (atomically, read-only) to the cache directory and mapped from there.
/// </summary>
internal static class DemoModel
{
    public const string Name = "langid";

    private const string ResourceName = "Sharpserve.Demo.langid.bin";

    /// <summary>Returns the path of the demo model extracted into <paramref name="directory"/>, writing it first if it is missing or damaged.</summary>
    public static string EnsureExtracted(string directory)
    {
        using Stream resource = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"the demo model resource {ResourceName} is missing from the build");
        byte[] expectedHash = SHA256.HashData(resource);
        string path = Path.Combine(directory, $"demo-{Name}-{Convert.ToHexStringLower(expectedHash, 0, 8)}.bin");
        if (File.Exists(path) && HashOf(path).AsSpan().SequenceEqual(expectedHash))
        {
            return path;
        }

        Directory.CreateDirectory(directory);
        string temp = path + "." + Environment.ProcessId + ".tmp";
        try
        {
            resource.Position = 0;
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                resource.CopyTo(file);
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            // Atomic rename: a concurrent reader sees the old file or the whole new one, never a partial write.
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        return path;
    }

    private static byte[] HashOf(string path)
    {
        using FileStream file = File.OpenRead(path);
        return SHA256.HashData(file);
    }
}
