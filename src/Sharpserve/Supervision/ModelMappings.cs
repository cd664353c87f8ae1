using System.Collections.Concurrent;
using Sharpserve.Hosting;

namespace Sharpserve.Supervision;

/// <summary>
/// How much of a model's own file mappings a process holds resident: the model image for fastText; for ONNX the
/// model file and its external data files (for a baked model, <c>model.data</c>, which ONNX Runtime maps). Read
/// from <c>/proc/PID/smaps</c>, mapping by mapping, so the runtime's and the native libraries' file-backed pages
/// (tens of MiB) are not counted. Only for /status and /metrics: smaps lists every mapping, so it costs more than
/// the heartbeat's smaps_rollup.
/// </summary>
internal static class ModelMappings
{
    private static readonly ConcurrentDictionary<string, string[]> s_files = new(StringComparer.Ordinal);

    /// <summary>The files a process serving <paramref name="modelPath"/> maps (full paths); the model itself at least.</summary>
    public static string[] FilesOf(string modelPath) => s_files.GetOrAdd(modelPath, static path =>
    {
        if (!File.Exists(path))
        {
            return []; // not a file: a Python model's zygote generation, which maps no model
        }

        string full = Path.GetFullPath(path);
        try
        {
            return BackendCatalog.Default.Find(full) is { } backend ? [.. backend.MappedFiles(full)] : [full];
        }
        catch (Exception e) when (e is Abstractions.ModelLoadException or IOException or UnauthorizedAccessException)
        {
            return [full];
        }
    });

    /// <summary>Resident bytes of <paramref name="pid"/>'s mappings of <paramref name="files"/>; 0 when it is gone.</summary>
    public static long ResidentBytes(int pid, IReadOnlyCollection<string> files)
    {
        if (files.Count == 0)
        {
            return 0;
        }

        long total = 0;
        bool counting = false;
        try
        {
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps"))
            {
                if (IsMappingHeader(line))
                {
                    counting = Contains(files, MappedPath(line));
                }
                else if (counting && line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    total += Kilobytes(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // the process is gone
        }

        return total;
    }

    // "7f4f88a00000-7f4f88d37000 r--s 00000000 fe:00 11730994    /path/to/file" (field lines start "Name:").
    private static bool IsMappingHeader(string line)
    {
        int dash = line.IndexOf('-', StringComparison.Ordinal);
        int space = line.IndexOf(' ', StringComparison.Ordinal);
        return dash > 0 && space > dash && Uri.IsHexDigit(line[0]) && !line.AsSpan(0, space).Contains(':');
    }

    /// <summary>The path after the fifth field; a file unlinked since (an image replaced by a rebuild) ends " (deleted)".</summary>
    private static ReadOnlySpan<char> MappedPath(string line)
    {
        ReadOnlySpan<char> rest = line;
        for (int field = 0; field < 5; field++)
        {
            rest = rest.TrimStart(' ');
            int space = rest.IndexOf(' ');
            if (space < 0)
            {
                return [];
            }

            rest = rest[space..];
        }

        rest = rest.Trim();
        return rest.EndsWith(" (deleted)", StringComparison.Ordinal) ? rest[..^" (deleted)".Length] : rest;
    }

    private static bool Contains(IReadOnlyCollection<string> files, ReadOnlySpan<char> path)
    {
        foreach (string file in files)
        {
            if (path.SequenceEqual(file))
            {
                return true;
            }
        }

        return false;
    }

    private static long Kilobytes(string line)
    {
        ReadOnlySpan<char> rest = line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim();
        int space = rest.IndexOf(' ');
        return long.TryParse(space < 0 ? rest : rest[..space], out long kb) ? kb * 1024 : 0;
    }
}
