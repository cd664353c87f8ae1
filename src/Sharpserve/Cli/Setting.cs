using System.CommandLine;
using System.CommandLine.Parsing;

namespace Sharpserve.Cli;

/// <summary>Parses one setting's text; false with a reason that follows the setting's name ("must be ...").</summary>
internal delegate bool SettingParser<T>(string text, out T value, out string reason);

/// <summary>
/// A command-line option that also reads <c>SHARPSERVE_&lt;NAME&gt;</c> when the flag is absent (a flag wins over the
/// environment, which wins over the default). Both are parsed once, by the same parser; a bad value is one error that
/// names where it came from: <c>--port must be ..., got 'abc'</c> or <c>SHARPSERVE_PORT must be ..., got 'abc'</c>.
/// </summary>
internal static class Setting
{
    public static string EnvironmentVariable(string flag) =>
        "SHARPSERVE_" + flag.TrimStart('-').Replace('-', '_').ToUpperInvariant();

    /// <summary>A single-valued option with an environment fallback.</summary>
    public static Option<T> Create<T>(string name, string description, string helpName, T defaultValue, SettingParser<T> parse, params string[] aliases)
    {
        string variable = EnvironmentVariable(name);
        var option = new Option<T>(name, aliases)
        {
            Description = $"{description} [env {variable}]",
            HelpName = helpName,
        };
        option.CustomParser = result =>
            result.Tokens.Count == 0 ? defaultValue : Parse(result, name, result.Tokens[^1].Value, defaultValue, parse);
        option.DefaultValueFactory = result =>
            Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
                ? Parse(result, variable, text, defaultValue, parse)
                : defaultValue;
        return option;
    }

    /// <summary>A repeatable option (<c>-b A -b B</c>); its environment variable holds a comma-separated list.</summary>
    public static Option<IReadOnlyList<T>> CreateList<T>(string name, string description, string helpName, SettingParser<T> parse, params string[] aliases)
    {
        string variable = EnvironmentVariable(name);
        var option = new Option<IReadOnlyList<T>>(name, aliases)
        {
            Description = $"{description} [env {variable}, comma-separated]",
            HelpName = helpName,
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        option.CustomParser = result =>
        {
            var values = new List<T>(result.Tokens.Count);
            foreach (Token token in result.Tokens)
            {
                values.Add(Parse(result, name, token.Value, default!, parse));
            }

            return values;
        };
        option.DefaultValueFactory = result =>
        {
            if (Environment.GetEnvironmentVariable(variable) is not { Length: > 0 } text)
            {
                return [];
            }

            var values = new List<T>();
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                values.Add(Parse(result, variable, part, default!, parse));
            }

            return values;
        };
        return option;
    }

    /// <summary>An on/off flag; its environment variable is 1/true/yes or 0/false/no.</summary>
    public static Option<bool> CreateFlag(string name, string description)
    {
        string variable = EnvironmentVariable(name);
        var option = new Option<bool>(name) { Description = $"{description} [env {variable}=1]", Arity = ArgumentArity.Zero };
        option.DefaultValueFactory = result =>
            Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
                ? Parse(result, variable, text, false, TryParseBoolean)
                : false;
        return option;
    }

    /// <summary>Where the value of <paramref name="option"/> came from, for messages: the flag, its variable, or null (the default).</summary>
    public static string? SourceOf(ParseResult parsed, Option option)
    {
        ArgumentNullException.ThrowIfNull(parsed);
        return SourceOf(parsed.GetResult(option), option);
    }

    /// <summary>As <see cref="SourceOf(ParseResult, Option)"/>, inside a command's validator.</summary>
    public static string? SourceOf(SymbolResult command, Option option)
    {
        ArgumentNullException.ThrowIfNull(command);
        return SourceOf(command.GetResult(option), option);
    }

    private static string? SourceOf(OptionResult? result, Option option)
    {
        ArgumentNullException.ThrowIfNull(option);
        if (result is { Implicit: false })
        {
            return result.IdentifierToken?.Value ?? option.Name; // as typed: -t or --timeout
        }

        string variable = EnvironmentVariable(option.Name);
        return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } ? variable : null;
    }

    /// <summary>The text of the flag's value, else of its environment variable (for messages inside a validator, which sees no defaults).</summary>
    public static string? TextOf(SymbolResult command, Option option)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(option);
        return command.GetResult(option) is { Implicit: false, Tokens.Count: > 0 } given
            ? given.Tokens[^1].Value
            : Environment.GetEnvironmentVariable(EnvironmentVariable(option.Name)) is { Length: > 0 } text ? text : null;
    }

    /// <summary>True when the flag or its environment variable gave a value.</summary>
    public static bool IsGiven(ParseResult parsed, Option option) => SourceOf(parsed, option) is not null;

    /// <summary>As <see cref="IsGiven(ParseResult, Option)"/>, inside a command's validator.</summary>
    public static bool IsGiven(SymbolResult command, Option option) => SourceOf(command, option) is not null;

    private static T Parse<T>(SymbolResult result, string source, string text, T fallback, SettingParser<T> parse)
    {
        if (parse(text, out T value, out string reason))
        {
            return value;
        }

        result.AddError($"{source} {reason}, got '{text}'");
        return fallback;
    }

    private static bool TryParseBoolean(string text, out bool value, out string reason)
    {
        reason = "must be 1 or 0 (true or false)";
        switch (text.Trim().ToLowerInvariant())
        {
            case "1" or "true" or "yes" or "on":
                value = true;
                return true;
            case "0" or "false" or "no" or "off":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }
}
