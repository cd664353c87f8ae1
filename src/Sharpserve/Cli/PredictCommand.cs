using System.CommandLine;
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
    public const string Epilog = """
        Reads lines from FILE (or standard input when FILE is absent or '-') and prints one line per input:
        labels with probabilities, in the format of 'fasttext predict-prob MODEL FILE k threshold'.
        """;

    public static Command Create()
    {
        var model = new Argument<string>("MODEL") { Description = "a fastText supervised .bin (or its prepared image)" };
        var file = new Argument<string?>("FILE") { Description = "input lines; '-' or absent: standard input", Arity = ArgumentArity.ZeroOrOne };
        var k = new Option<int>("--k")
        {
            Description = "labels per line (default 1; -1 means all labels)",
            HelpName = "N",
            DefaultValueFactory = _ => 1,
            CustomParser = result => ParseK(result),
        };
        var threshold = new Option<float>("--threshold")
        {
            Description = "drop labels with probability below P (default 0.0)",
            HelpName = "P",
            CustomParser = result => ParseThreshold(result),
        };
        model.Validators.Add(CommandLine.RefuseOptionLikeArgument);
        file.Validators.Add(CommandLine.RefuseOptionLikeArgument);
        var command = new Command("predict", "Offline predictions, exactly as 'fasttext predict-prob MODEL FILE k threshold' prints them.")
        {
            model, file, k, threshold,
        };
        command.SetAction(parsed => Run(parsed.GetValue(model)!, parsed.GetValue(file), parsed.GetValue(k), parsed.GetValue(threshold)));
        return command;
    }

    private static int ParseK(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens[^1].Value;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int k) && (k >= 1 || k == -1))
        {
            return k;
        }

        result.AddError($"--k must be -1 (all labels) or a positive integer, got '{text}'");
        return 1;
    }

    private static float ParseThreshold(System.CommandLine.Parsing.ArgumentResult result)
    {
        string text = result.Tokens[^1].Value;
        if (float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float threshold) &&
            float.IsFinite(threshold) && threshold is >= 0f and <= 1f)
        {
            return threshold;
        }

        result.AddError($"--threshold must be a number from 0 to 1, got '{text}'");
        return 0f;
    }

    private static int Run(string modelPath, string? inputPath, int k, float threshold)
    {
        if (inputPath == "-")
        {
            inputPath = null;
        }

        if (inputPath is not null && !File.Exists(inputPath))
        {
            return CommandLine.Fail($"input file '{inputPath}' does not exist", CommandLine.RuntimeFailure);
        }

        if (BackendCatalog.Default.Find(modelPath) is { } backend && !FastTextStreamPredictor.Reads(backend))
        {
            // Refused before anything is prepared: loading would bake the model into the cache first.
            return CommandLine.Fail($"{modelPath}: predict supports fastText models only; serve {backend.DisplayName} models and use /v2/models/NAME/infer");
        }

        IModel loaded;
        try
        {
            loaded = ModelLoader.Load(modelPath, Path.GetFileNameWithoutExtension(modelPath));
        }
        catch (ModelLoadException ex)
        {
            return CommandLine.Fail(ex.Message, CommandLine.RuntimeFailure);
        }

        using IModel model = loaded;
        if (model is not FastTextModel fastText)
        {
            return CommandLine.Fail($"{modelPath}: predict supports fastText models only", CommandLine.RuntimeFailure);
        }

        using Stream input = inputPath is null ? Console.OpenStandardInput() : File.OpenRead(inputPath);
        using var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        FastTextStreamPredictor.Predict(fastText, input, output, k, threshold);
        return 0;
    }
}
