using System.Reflection;

namespace Sharpserve.Cli;

/// <summary>The <c>sharpserve</c> command: dispatches to a subcommand and owns the exit-code conventions.</summary>
internal static class CommandLine
{
    public const string Help = """
        sharpserve: serve read-only models over HTTP on every core, with one copy of the model in memory.

        Usage:
          sharpserve serve [MODEL] [options]     serve MODEL (default: the embedded demo model)
          sharpserve predict MODEL [FILE] [--k N] [--threshold P]
                                                 offline predictions, as 'fasttext predict-prob'
          sharpserve prepare MODEL [--output PATH | --cache-dir DIR]
                                                 build the model image that serve maps; prints its path
          sharpserve status [--url URL]          models and worker processes of a running server
          sharpserve --version                   print the version
          sharpserve --help                      show this help

        Run 'sharpserve COMMAND --help' for a command's options.
        """;

    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.Write(Help);
            Console.Error.WriteLine();
            return 2;
        }

        string command = args[0];
        var rest = new ArraySegment<string>(args, 1, args.Length - 1);
        switch (command)
        {
            case "serve":
                return await ServeCommand.RunAsync(rest);
            case "predict":
                return PredictCommand.Run(rest);
            case "prepare":
                return PrepareCommand.Run(rest);
            case "status":
                return await StatusCommand.RunAsync(rest);
            case "worker":
                return await Worker.WorkerCommand.RunAsync(rest);
            case "--version":
            case "version":
                Console.Out.WriteLine($"sharpserve {Version}");
                return 0;
            case "--help":
            case "-h":
            case "help":
                Console.Out.WriteLine(Help);
                return 0;
            default:
                return Fail($"unknown command '{command}' (commands: serve, predict, prepare; see 'sharpserve --help')");
        }
    }

    /// <summary>One clear line on standard error; exit code 2 for usage errors, 1 for failures such as an unusable model.</summary>
    public static int Fail(string message, int exitCode = 2)
    {
        Console.Error.WriteLine($"sharpserve: error: {message}");
        return exitCode;
    }
}
