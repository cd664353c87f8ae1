using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Cli;

/// <summary>
/// <c>sharpserve prepare MODEL [--output PATH | --cache-dir DIR]</c>: builds (or finds fresh) the model image that
/// serve maps, and prints its path. Useful ahead of time: a deploy step, or a cache warmed before the first start.
/// </summary>
internal static class PrepareCommand
{
    private static readonly string[] s_valueOptions = ["--output", "--cache-dir"];
    private static readonly string[] s_flagOptions = ["--help"];

    public const string Help = """
        Usage: sharpserve prepare MODEL [--output PATH | --cache-dir DIR]

        Builds the model image of MODEL (a fastText supervised .bin): one read-only file holding everything
        serving reads (the matrices, 64-byte aligned, and the precomputed dictionary table and tree). serve
        maps this image instead of the model file, and builds it itself when missing or stale; prepare does it
        ahead of time. An image that is already fresh is reused. Prints the image path.

        Options:
          --output PATH     write the image to PATH (serve PATH directly; it is not checked against MODEL later)
          --cache-dir DIR   the image cache directory (default: SHARPSERVE_CACHE_DIR, else ~/.cache/sharpserve)
          -h, --help        show this help
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        ParsedArguments parsed = ParsedArguments.Parse(args, s_valueOptions, s_flagOptions, out string? error);
        if (error is not null)
        {
            return CommandLine.Fail($"{error} (see 'sharpserve prepare --help')");
        }

        if (parsed.HasFlag("--help"))
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (parsed.Positionals.Count != 1)
        {
            return CommandLine.Fail("prepare needs exactly one MODEL (see 'sharpserve prepare --help')");
        }

        string? output = parsed.GetOption("--output");
        string? cacheDir = parsed.GetOption("--cache-dir");
        if (output is not null && cacheDir is not null)
        {
            return CommandLine.Fail("give --output or --cache-dir, not both");
        }

        if (output?.Length == 0 || cacheDir?.Length == 0)
        {
            return CommandLine.Fail(output is not null ? "--output needs a file path" : "--cache-dir needs a directory");
        }

        if (cacheDir is not null && !Demo.CacheDirectory.TryEnsureUsable(cacheDir, out string problem))
        {
            return CommandLine.Fail($"--cache-dir '{cacheDir}' is not a usable cache directory: {problem}", 1);
        }

        try
        {
            Console.Out.WriteLine(ModelLoader.Prepare(parsed.Positionals[0], cacheDir, output).ImagePath);
            return 0;
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, 1);
        }
    }
}
