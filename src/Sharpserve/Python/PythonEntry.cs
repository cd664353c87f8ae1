namespace Sharpserve.Python;

/// <summary>
/// A Python model to serve: <c>MODULE:ATTR</c> (a class, a factory or an instance, as gunicorn names an app), the
/// folders put first on its <c>sys.path</c>, the interpreter that runs it, and the name it is served as.
/// </summary>
public sealed record PythonEntry(string Entry, IReadOnlyList<string> Paths, string Executable, string Name)
{
    /// <summary>The interpreter used when none is given: the first <c>python3</c> on PATH.</summary>
    public const string DefaultExecutable = "python3";

    /// <summary>Null when <paramref name="entry"/> has the form MODULE:ATTR (dotted names); otherwise what is wrong.</summary>
    public static string? Check(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        int colon = entry.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == entry.Length - 1 || entry.IndexOf(':', colon + 1) >= 0)
        {
            return $"must be MODULE:ATTR, e.g. label_service:Model, got '{entry}'";
        }

        foreach (string part in entry.Split(':', '.'))
        {
            if (part.Length == 0 || !IsIdentifier(part))
            {
                return $"must be MODULE:ATTR made of Python names, e.g. label_service:Model, got '{entry}'";
            }
        }

        return null;
    }

    /// <summary>The module part: the default model name.</summary>
    public string Module => Entry[..Entry.IndexOf(':', StringComparison.Ordinal)];

    private static bool IsIdentifier(string part)
    {
        if (!(char.IsLetter(part[0]) || part[0] == '_'))
        {
            return false;
        }

        foreach (char c in part)
        {
            if (!(char.IsLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }
}
