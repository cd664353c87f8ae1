namespace Sharpserve.Supervision;

/// <summary>
/// Reads a process's memory from /proc/PID/smaps_rollup, in one read. Anonymous is the heap and every other
/// non-file page, where a private copy of the model would show; it also holds the pages a forked process still
/// shares with its parent. Private_Dirty is what the process alone has written: its own heap pages, and a forked
/// process's pages once it writes them (copy-on-write), so its growth is what --max-worker-memory counts
/// (<see cref="WorkerMemoryBudget"/>). Pss splits shared pages among the processes that map them. The model's own
/// mapping is measured apart (<see cref="ModelMappings"/>): Rss − Anonymous also holds the runtime's and the native
/// libraries' file-backed pages.
/// </summary>
/// <param name="SharedBytes">Shared_Clean + Shared_Dirty: resident pages another process maps too.</param>
public readonly record struct ProcessMemory(long RssBytes, long PssBytes, long AnonymousBytes, long PrivateDirtyBytes, long SharedBytes = 0)
{
    public static ProcessMemory Read(int pid)
    {
        try
        {
            long rss = 0, pss = 0, anonymous = 0, privateDirty = 0, shared = 0;
            foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (line.StartsWith("Rss:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line);
                }
                else if (line.StartsWith("Pss:", StringComparison.Ordinal))
                {
                    pss = Kilobytes(line);
                }
                else if (line.StartsWith("Anonymous:", StringComparison.Ordinal))
                {
                    anonymous = Kilobytes(line);
                }
                else if (line.StartsWith("Shared_Clean:", StringComparison.Ordinal) || line.StartsWith("Shared_Dirty:", StringComparison.Ordinal))
                {
                    shared += Kilobytes(line);
                }
                else if (line.StartsWith("Private_Dirty:", StringComparison.Ordinal))
                {
                    privateDirty = Kilobytes(line);
                }
            }

            return new ProcessMemory(rss, pss, anonymous, privateDirty, shared);
        }
        catch (IOException)
        {
            return default; // the process is gone
        }
        catch (UnauthorizedAccessException)
        {
            return default;
        }
    }

    private static long Kilobytes(string line)
    {
        ReadOnlySpan<char> rest = line.AsSpan(line.IndexOf(':', StringComparison.Ordinal) + 1).Trim();
        int space = rest.IndexOf(' ');
        return long.TryParse(space < 0 ? rest : rest[..space], out long kb) ? kb * 1024 : 0;
    }
}
