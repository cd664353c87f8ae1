using System.Globalization;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Cli;

/// <summary>
/// Runs a model preparation (<c>prepare</c>, and <c>serve</c> before it listens) under a <see cref="ProgressDisplay"/>
/// suited to where stderr goes: a bar when it is a terminal, else a plain line every few seconds; then one line
/// saying what was built or reused, where, and how long it took.
/// </summary>
internal static class PreparationProgress
{
    /// <summary>
    /// Tests only: the plain-line interval in milliseconds, 0 for a line per report, so that a test sees progress
    /// lines from a model that takes a fraction of a second.
    /// </summary>
    public const string IntervalVariable = "SHARPSERVE_TEST_PROGRESS_INTERVAL_MS";

    /// <summary>Runs <paramref name="prepare"/> with a display; progress lines (not the bar) and the final line go to <paramref name="writeLine"/>.</summary>
    public static ModelPreparation Run(
        string sourcePath, Action<string> writeLine, Func<IProgress<ProgressReport>, ModelPreparation> prepare)
    {
        string subject = $"preparing {Path.GetFileName(sourcePath)}";
        using ProgressDisplay display = Console.IsErrorRedirected
            ? ProgressDisplay.ForLines(subject, writeLine, TimeProvider.System, LineInterval())
            : ProgressDisplay.ForTerminal(subject, Console.Error, TerminalWidth(), writeLine, TimeProvider.System);
        ModelPreparation prepared = prepare(display);
        display.Finish(Describe(sourcePath, prepared, display.Elapsed));
        return prepared;
    }

    /// <summary>
    /// The final line: "built model image PATH (1.2 GiB) in 4.1 s: no image yet", "baked ONNX model PATH (...) in
    /// 2.3 s: ...", "reused model image PATH (up to date)", or, when nothing is built for it, "using PATH as it is".
    /// </summary>
    public static string Describe(string sourcePath, ModelPreparation prepared, TimeSpan elapsed)
    {
        string path = prepared.PreparedPath;
        // A model image is one file Sharpserve wrote; any other prepared form is a backend's own (ONNX: baked, a folder).
        bool onnx = !ModelLoader.IsModelImage(path);
        string baked = $"baked {BackendCatalog.Default.Find(path)?.DisplayName ?? "backend"} model";
        if (string.Equals(path, Path.GetFullPath(sourcePath), StringComparison.Ordinal))
        {
            return $"using {path} as it is (nothing to build)";
        }

        if (prepared.Action == ModelPreparationAction.Reused)
        {
            return $"reused {(onnx ? baked : "model image")} {path} (up to date)";
        }

        string reason = prepared.Reason.Length > 0 ? $": {prepared.Reason}" : "";
        return $"{(onnx ? baked : "built model image")} {path} ({ProgressDisplay.FormatBytes(SizeOf(path, onnx))}) in {ProgressDisplay.FormatElapsed(elapsed)}{reason}";
    }

    // An image is one file; a baked ONNX model is its folder (the graph, its external data and the manifest).
    private static long SizeOf(string path, bool onnx)
    {
        try
        {
            if (!onnx)
            {
                return new FileInfo(path).Length;
            }

            long size = 0;
            foreach (FileInfo file in new FileInfo(path).Directory!.EnumerateFiles())
            {
                size += file.Length;
            }

            return size;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0; // replaced meanwhile by another preparer; the size is only for people
        }
    }

    private static TimeSpan LineInterval() =>
        int.TryParse(Environment.GetEnvironmentVariable(IntervalVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int ms)
            ? TimeSpan.FromMilliseconds(ms)
            : ProgressDisplay.DefaultLineInterval;

    private static int TerminalWidth()
    {
        try
        {
            return Console.WindowWidth > 0 ? Console.WindowWidth : 80;
        }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException)
        {
            return 80;
        }
    }
}
