using System.CommandLine;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Cli;

/// <summary>
/// <c>sharpserve prepare MODEL [--output PATH | --cache-dir DIR]</c>: builds (or finds fresh) the model image that
/// serve maps, and prints its path. Useful ahead of time: a deploy step, or a cache warmed before the first start.
/// </summary>
internal static class PrepareCommand
{
    public const string Epilog = """
        Builds the model image of MODEL (a fastText supervised .bin): one read-only file holding everything
        serving reads (the matrices, 64-byte aligned, and the precomputed dictionary table and tree). serve
        maps this image instead of the model file, and builds it itself when missing or stale; prepare does it
        ahead of time. An image that is already fresh is reused. An ONNX model is baked into the cache
        directory (its shared, prepacked form). Prints the path of what serve will load on stdout; on stderr, a
        progress bar (a line every few seconds when stderr is not a terminal) and one line saying what was built
        or reused and how long it took.
        """;

    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = $"a model file: {BackendCatalog.Default.SupportedFormats}" };
        var output = new Option<string?>("--output")
        {
            Description = "write the image to PATH (serve PATH directly; it is not checked against MODEL later)",
            HelpName = "PATH",
        };
        var cacheDirectory = new Option<string?>("--cache-dir")
        {
            Description = "the image cache directory (default: SHARPSERVE_CACHE_DIR, else ~/.cache/sharpserve)",
            HelpName = "DIR",
        };
        model.Validators.Add(CommandLine.RefuseOptionLikeArgument);
        var backends = new BackendSettings();
        var command = new Command("prepare", "Build the model image that serve maps (or bake an ONNX model), and print its path.")
        {
            model, output, cacheDirectory,
        };
        foreach (Option option in backends.Options)
        {
            command.Add(option);
        }

        command.Validators.Add(result =>
        {
            string? outputPath = result.GetValue(output);
            string? cache = result.GetValue(cacheDirectory);
            if (outputPath is not null && cache is not null)
            {
                result.AddError("give --output or --cache-dir, not both");
            }

            if (outputPath?.Length == 0)
            {
                result.AddError("--output needs a file path");
            }

            if (cache?.Length == 0)
            {
                result.AddError("--cache-dir needs a directory");
            }
        });
        command.SetAction(parsed => Run(parsed.GetValue(model)!, parsed.GetValue(cacheDirectory), parsed.GetValue(output), backends, parsed));
        return command;
    }

    private static int Run(string model, string? cacheDirectory, string? output, BackendSettings backends, ParseResult parsed)
    {
        if (cacheDirectory is not null && !CacheDirectory.TryEnsureUsable(cacheDirectory, out string problem))
        {
            return CommandLine.Fail($"--cache-dir '{cacheDirectory}' is not a usable cache directory: {problem}", CommandLine.RuntimeFailure);
        }

        try
        {
            // stdout is the path alone (scripts read it); how it went goes to stderr.
            BackendCatalog catalog = backends.Build(parsed, Path.GetFullPath(cacheDirectory ?? CacheDirectory.Get()), Environment.ProcessorCount);
            ModelPreparation prepared = PreparationProgress.Run(
                model, Console.Error.WriteLine, progress => ModelLoader.Prepare(model, null, output, catalog, progress));
            Console.Out.WriteLine(prepared.PreparedPath);
            return 0;
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, CommandLine.RuntimeFailure);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return CommandLine.Fail($"cannot write the model image: {ex.Message}", CommandLine.RuntimeFailure);
        }
    }
}
