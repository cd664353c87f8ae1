using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Sharpserve.Cli;

/// <summary>
/// The <c>sharpserve</c> command line on System.CommandLine: the commands, one error format (<c>sharpserve: error:
/// ...</c>, one line per problem) and the exit codes: <see cref="UsageError"/> (2) when the command line or the
/// environment is wrong, <see cref="RuntimeFailure"/> (1) when acting on it fails.
/// </summary>
internal static partial class CommandLine
{
    /// <summary>The command line or a SHARPSERVE_* variable is wrong: unknown option, missing or malformed value.</summary>
    public const int UsageError = 2;

    /// <summary>The request was well-formed but failed: model unusable, address in use, server never ready.</summary>
    public const int RuntimeFailure = 1;

    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        RootCommand root = CreateRoot();
        if (args is ["version"] or ["help"])
        {
            args = ["--" + args[0]];
        }

        if (args.Length == 0)
        {
            // No command: the overview on standard error, as a usage error.
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = Console.Error });
            return UsageError;
        }

        // Response files (@file) would make a model path starting with '@' mean something else.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0 && parsed.Action is not (HelpAction or HelpWithEpilog))
        {
            string command = parsed.CommandResult.Command is RootCommand ? "sharpserve" : $"sharpserve {parsed.CommandResult.Command.Name}";
            var printed = new HashSet<string>(StringComparer.Ordinal);
            foreach (ParseError error in parsed.Errors)
            {
                // A value's own problem names the setting and the fix; a malformed command line points at the help.
                (string message, bool pointAtHelp) = Describe(error, parsed);
                if (printed.Add(message))
                {
                    // System.CommandLine may report one mistake twice (e.g. an unknown command): printed once.
                    Console.Error.WriteLine(pointAtHelp ? $"sharpserve: error: {message} (see '{command} --help')" : $"sharpserve: error: {message}");
                }
            }

            return UsageError;
        }

        // The server drains on SIGTERM / Ctrl-C itself; System.CommandLine must not cancel or kill it first.
        return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
    }

    /// <summary>One clear line on standard error; returns <paramref name="exitCode"/>.</summary>
    public static int Fail(string message, int exitCode = UsageError)
    {
        Console.Error.WriteLine($"sharpserve: error: {message}");
        return exitCode;
    }

    /// <summary>A positional argument that looks like an option is an unknown option, not a file name.</summary>
    public static void RefuseOptionLikeArgument(ArgumentResult result)
    {
        foreach (Token token in result.Tokens)
        {
            if (token.Value.Length > 1 && token.Value.StartsWith('-'))
            {
                result.AddError($"unknown option '{token.Value}'");
            }
        }
    }

    private static RootCommand CreateRoot()
    {
        var root = new RootCommand("sharpserve: serve read-only models over HTTP on every core, with one copy of the model in memory.")
        {
            ServeCommand.Create(),
            PredictCommand.Create(),
            PrepareCommand.Create(),
            StatusCommand.Create(),
            Worker.WorkerCommand.Create(),
        };
        foreach (Option option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction action)
            {
                help.Action = new HelpWithEpilog(action);
            }
            else if (option is VersionOption version)
            {
                version.Action = new PrintVersion();
            }
        }

        return root;
    }

    /// <summary>
    /// Ours for the common mistakes of form (unknown option, missing value or argument), which point at the help;
    /// the parsers' and validators' own messages as they are (they name the setting, the value and the fix).
    /// </summary>
    private static (string Message, bool PointAtHelp) Describe(ParseError error, ParseResult parsed)
    {
        if (error.Message.StartsWith("--", StringComparison.Ordinal) || error.Message.StartsWith("SHARPSERVE_", StringComparison.Ordinal))
        {
            return (error.Message, false); // a setting's parser: names the setting, the value and the fix
        }

        if (error.SymbolResult is OptionResult { Tokens.Count: 0 } missing && missing.Option.Arity.MinimumNumberOfValues > 0)
        {
            return (missing.Option.Required && missing.Implicit
                ? $"option '{missing.Option.Name}' is required"
                : $"option '{missing.IdentifierToken?.Value ?? missing.Option.Name}' needs a value", true);
        }

        if (error.SymbolResult is ArgumentResult { Tokens.Count: 0, Parent: CommandResult command } argument &&
            argument.Argument.Arity.MinimumNumberOfValues > 0)
        {
            return (command.Command.Name switch
            {
                "predict" => "predict needs MODEL and at most one FILE",
                "prepare" => "prepare needs exactly one MODEL",
                _ => $"{command.Command.Name} needs {argument.Argument.Name}",
            }, true);
        }

        if (parsed.CommandResult.Command is RootCommand && parsed.Tokens.Count > 0 && !parsed.Tokens[0].Value.StartsWith('-'))
        {
            return ($"unknown command '{parsed.Tokens[0].Value}' (commands: serve, predict, prepare, status)", true);
        }

        foreach (string token in parsed.UnmatchedTokens)
        {
            if (error.Message.Contains($"'{token}'", StringComparison.Ordinal))
            {
                return (token.StartsWith('-') ? $"unknown option '{token}'"
                    : parsed.CommandResult.Command.Name == "serve" ? $"serve takes at most one MODEL, got '{token}' too"
                    : $"unexpected argument '{token}'", true);
            }
        }

        return (error.Message, error.Message.StartsWith("unknown option", StringComparison.Ordinal));
    }

    /// <summary>"sharpserve 0.1.0", without the build's commit hash.</summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine($"sharpserve {Version}");
            return 0;
        }
    }

    /// <summary>The generated help, then the command's own notes (layouts, signals, environment) where it has them.</summary>
    private sealed class HelpWithEpilog(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            // Each option's description says its default in words ("default 30s", "default: the number of cores");
            // the generated "[default: 00:00:30]" (the value's ToString) repeats it in a form nobody types, or
            // contradicts it where 0 means "computed". System.CommandLine has no switch for it, so it is cut here.
            InvocationConfiguration configuration = parseResult.InvocationConfiguration;
            TextWriter output = configuration.Output;
            using var generated = new StringWriter(CultureInfo.InvariantCulture);
            configuration.Output = generated;
            int code;
            try
            {
                code = inner.Invoke(parseResult);
            }
            finally
            {
                configuration.Output = output;
            }

            output.Write(WithoutGeneratedDefaults(generated.ToString()));
            string? epilog = parseResult.CommandResult.Command.Name switch
            {
                "serve" => ServeCommand.Epilog,
                "predict" => PredictCommand.Epilog,
                "prepare" => PrepareCommand.Epilog,
                "status" => StatusCommand.Epilog,
                _ => null,
            };
            if (epilog is not null)
            {
                parseResult.InvocationConfiguration.Output.WriteLine(epilog);
            }

            return code;
        }
    }

    /// <summary>The help text without its "[default: …]" notes, which may be wrapped onto the next line.</summary>
    internal static string WithoutGeneratedDefaults(string help)
    {
        string cut = GeneratedDefault().Replace(help, "");
        return TrailingSpaces().Replace(cut, "");
    }

    [GeneratedRegex(@"[ \t]*(\r?\n[ \t]*)?\[default:\s+[^\]]*\]")]
    private static partial Regex GeneratedDefault();

    [GeneratedRegex(@"[ \t]+(?=\r?$)", RegexOptions.Multiline)]
    private static partial Regex TrailingSpaces();
}
