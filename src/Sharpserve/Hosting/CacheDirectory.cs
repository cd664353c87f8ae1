namespace Sharpserve.Hosting;

/// <summary>Where Sharpserve keeps files it writes itself: SHARPSERVE_CACHE_DIR, else $XDG_CACHE_HOME/sharpserve, else ~/.cache/sharpserve.</summary>
internal static class CacheDirectory
{
    /// <summary>
    /// Creates <paramref name="directory"/> if needed and proves it writable by creating and deleting a file in it,
    /// so a cache directory given on purpose is either used or refused, never silently replaced by the default.
    /// </summary>
    public static bool TryEnsureUsable(string directory, out string problem)
    {
        try
        {
            Directory.CreateDirectory(directory);
            string probe = Path.Combine(directory, $".sharpserve-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            problem = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            problem = e.Message;
            return false;
        }
    }

    public static string Get()
    {
        string? configured = Environment.GetEnvironmentVariable("SHARPSERVE_CACHE_DIR");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg))
        {
            return Path.Combine(xdg, "sharpserve");
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home)
            ? Path.Combine(Path.GetTempPath(), "sharpserve")
            : Path.Combine(home, ".cache", "sharpserve");
    }
}
