namespace Sharpserve.Cli;

/// <summary>A command line split into positional arguments and <c>--name value</c> options.</summary>
internal sealed class ParsedArguments
{
    private readonly Dictionary<string, string?> _options;

    private ParsedArguments(List<string> positionals, Dictionary<string, string?> options)
    {
        Positionals = positionals;
        _options = options;
    }

    public IReadOnlyList<string> Positionals { get; }

    public bool HasFlag(string name) => _options.ContainsKey(name);

    public string? GetOption(string name) => _options.TryGetValue(name, out string? value) ? value : null;

    /// <summary>
    /// Parses <paramref name="args"/>. <paramref name="valueOptions"/> take a value (<c>--port 80</c> or
    /// <c>--port=80</c>); <paramref name="flagOptions"/> take none. Anything else starting with "--" is an error.
    /// A lone "-" is positional (standard input); "--" ends options.
    /// </summary>
    public static ParsedArguments Parse(
        IReadOnlyList<string> args,
        IReadOnlyCollection<string> valueOptions,
        IReadOnlyCollection<string> flagOptions,
        out string? error)
    {
        var positionals = new List<string>();
        var options = new Dictionary<string, string?>(StringComparer.Ordinal);
        error = null;
        bool optionsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (optionsEnded || arg == "-" || !arg.StartsWith('-'))
            {
                positionals.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                optionsEnded = true;
                continue;
            }

            if (arg == "-h")
            {
                arg = "--help";
            }

            string name = arg;
            string? inlineValue = null;
            int equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                name = arg[..equals];
                inlineValue = arg[(equals + 1)..];
            }

            if (valueOptions.Contains(name))
            {
                if (inlineValue is null)
                {
                    // A value may start with '-' (e.g. "--k -1"), so take the next argument as it is.
                    if (i + 1 >= args.Count)
                    {
                        error = $"option '{name}' needs a value";
                        break;
                    }

                    inlineValue = args[++i];
                }

                options[name] = inlineValue;
            }
            else if (flagOptions.Contains(name) && inlineValue is null)
            {
                options[name] = null;
            }
            else
            {
                error = $"unknown option '{arg}'";
                break;
            }
        }

        return new ParsedArguments(positionals, options);
    }
}
