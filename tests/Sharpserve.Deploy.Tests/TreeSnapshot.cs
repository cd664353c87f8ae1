using System.Security.Cryptography;

namespace Sharpserve.Deploy.Tests;

/// <summary>Every entry under a folder: its kind, size, modification time and, for files, a SHA-256 of its bytes.</summary>
internal sealed class TreeSnapshot
{
    private readonly SortedDictionary<string, string> _entries = new(StringComparer.Ordinal);

    private TreeSnapshot()
    {
    }

    public IReadOnlyCollection<string> Paths => _entries.Keys;

    /// <param name="root">The folder.</param>
    /// <param name="withRoot">Whether the folder's own modification time counts (not for a folder whose entries may come and go).</param>
    public static TreeSnapshot Take(string root, bool withRoot = true)
    {
        var snapshot = new TreeSnapshot();
        if (withRoot)
        {
            snapshot._entries["."] = Describe(new DirectoryInfo(root));
        }

        foreach (FileSystemInfo entry in new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories))
        {
            snapshot._entries[Path.GetRelativePath(root, entry.FullName)] = Describe(entry);
        }

        return snapshot;
    }

    /// <summary>What changed from <paramref name="before"/>: added, removed and changed paths, one line each.</summary>
    public List<string> ChangesSince(TreeSnapshot before)
    {
        var changes = new List<string>();
        foreach ((string path, string description) in _entries)
        {
            if (!before._entries.TryGetValue(path, out string? old))
            {
                changes.Add($"added {path}: {description}");
            }
            else if (old != description)
            {
                changes.Add($"changed {path}: {old} -> {description}");
            }
        }

        foreach (string path in before._entries.Keys)
        {
            if (!_entries.ContainsKey(path))
            {
                changes.Add($"removed {path}");
            }
        }

        return changes;
    }

    private static string Describe(FileSystemInfo entry)
    {
        if (entry is not FileInfo file)
        {
            return $"folder, modified {entry.LastWriteTimeUtc:O}";
        }

        try
        {
            return $"file {file.Length} bytes, modified {file.LastWriteTimeUtc:O}, sha256 {Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file.FullName)))}";
        }
        catch (IOException)
        {
            return $"not a regular file (a socket or a pipe), modified {file.LastWriteTimeUtc:O}";
        }
    }
}
