using System.Globalization;

namespace Sharpserve.Supervision;

/// <summary>
/// The private temporary folder that holds a worker pool's Unix socket: <c>TMP/sharpserve-PID-RANDOM</c>, mode
/// 0700. A front stopped normally deletes its own; one killed with SIGKILL cannot, so each new pool first removes
/// the folders of fronts that are gone (the PID in the name no longer exists). A live front's folder is never
/// touched; a reused PID only means a stale folder is kept a while longer.
/// </summary>
internal static class SocketDirectory
{
    private const string Prefix = "sharpserve-";

    public static string Create()
    {
        RemoveStale(Path.GetTempPath());
        return Directory.CreateTempSubdirectory(Prefix + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "-").FullName;
    }

    /// <summary>Deletes <c>sharpserve-PID-*</c> folders under <paramref name="root"/> whose PID is not a live process.</summary>
    /// <returns>How many were removed.</returns>
    public static int RemoveStale(string root)
    {
        int removed = 0;
        string[] candidates;
        try
        {
            candidates = Directory.GetDirectories(root, Prefix + "*");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        foreach (string directory in candidates)
        {
            if (OwnerPid(Path.GetFileName(directory)) is not { } pid || pid == Environment.ProcessId || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            try
            {
                Directory.Delete(directory, recursive: true);
                removed++;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Another user's folder, or one being removed by someone else: not ours to insist on.
            }
        }

        return removed;
    }

    /// <summary>The PID in <c>sharpserve-PID-RANDOM</c>, or null for any other name (older layouts are left alone).</summary>
    private static int? OwnerPid(string name)
    {
        ReadOnlySpan<char> rest = name.AsSpan(Prefix.Length);
        int dash = rest.IndexOf('-');
        return dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0 ? pid : null;
    }
}
