namespace Sharpserve.Demo;

/// <summary>Where Sharpserve keeps files it writes itself: SHARPSERVE_CACHE_DIR, else $XDG_CACHE_HOME/sharpserve, else ~/.cache/sharpserve.</summary>
internal static class CacheDirectory
{
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
