using System.Globalization;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.Cli;

/// <summary>
/// <c>sharpserve predict MODEL [FILE]</c>: offline predictions in exactly the format of <c>fasttext predict-prob</c>,
/// through the same predictor the server uses.
/// </summary>
internal static class PredictCommand
{
    private static readonly string[] s_valueOptions = ["--k", "--threshold"];
    private static readonly string[] s_flagOptions = ["--help"];

    public const string Help = """
        Usage: sharpserve predict MODEL [FILE] [--k N] [--threshold P]

        Reads lines from FILE (or standard input when FILE is absent or '-') and prints one line per input:
        labels with probabilities, in the format of 'fasttext predict-prob MODEL FILE k threshold'.

        Options:
          --k N            labels per line (default 1; -1 means all labels)
          --threshold P    drop labels with probability below P (default 0.0)
          -h, --help       show this help
        """;

    public static int Run(IReadOnlyList<string> args)
    {
        ParsedArguments parsed = ParsedArguments.Parse(args, s_valueOptions, s_flagOptions, out string? error);
        if (error is not null)
        {
            return CommandLine.Fail($"{error} (see 'sharpserve predict --help')");
        }

        if (parsed.HasFlag("--help"))
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (parsed.Positionals.Count is < 1 or > 2)
        {
            return CommandLine.Fail("predict needs MODEL and at most one FILE (see 'sharpserve predict --help')");
        }

        int k = 1;
        if (parsed.GetOption("--k") is { } kText &&
            (!int.TryParse(kText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out k) || (k < 1 && k != -1)))
        {
            return CommandLine.Fail($"--k must be -1 (all labels) or a positive integer, got '{kText}'");
        }

        float threshold = 0f;
        if (parsed.GetOption("--threshold") is { } tText &&
            (!float.TryParse(tText, NumberStyles.Float, CultureInfo.InvariantCulture, out threshold) ||
             !float.IsFinite(threshold) || threshold < 0f || threshold > 1f))
        {
            return CommandLine.Fail($"--threshold must be a number from 0 to 1, got '{tText}'");
        }

        string modelPath = parsed.Positionals[0];
        string? inputPath = parsed.Positionals.Count == 2 && parsed.Positionals[1] != "-" ? parsed.Positionals[1] : null;
        if (inputPath is not null && !File.Exists(inputPath))
        {
            return CommandLine.Fail($"input file '{inputPath}' does not exist", 1);
        }

        IModel loaded;
        try
        {
            loaded = ModelLoader.Load(modelPath, Path.GetFileNameWithoutExtension(modelPath));
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, 1);
        }

        using IModel model = loaded;
        if (model is not FastTextModel fastText)
        {
            return CommandLine.Fail($"{modelPath}: predict supports fastText models only");
        }

        using Stream input = inputPath is null ? Console.OpenStandardInput() : File.OpenRead(inputPath);
        using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        FastTextStreamPredictor.Predict(fastText, input, output, k, threshold);
        return 0;
    }
}
