using System.CommandLine;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;
using static Sharpserve.Cli.SettingParsers;

namespace Sharpserve.Cli;

/// <summary>
/// The backends' settings on the command line (serve, prepare), each also read from its SHARPSERVE_* variable,
/// parsed once into typed options. Worker processes get them explicitly in their arguments (OnnxBackendOptions's
/// settings), never through the environment.
/// </summary>
internal sealed class BackendSettings
{
    private readonly Option<OnnxWeightSharing> _sharing = Setting.Create<OnnxWeightSharing>(
        "--onnx-sharing", "ONNX: prepacked (weights and prepacked kernels baked once, shared), noprepack (weights shared, kernels slower) or private (a copy per process) (default prepacked)",
        "MODE", OnnxWeightSharing.Prepacked, Sharing);

    private readonly Option<bool> _fallback = Setting.Create(
        "--onnx-fallback", "ONNX: when baking the prepacked form fails, noprepack (serve with prepacking off, logged) or none (fail) (default noprepack)",
        "MODE", true, Fallback);

    private readonly Option<long> _anonymousBudget = Setting.Create(
        "--onnx-anon-budget", "ONNX: anonymous memory a session may add before the load warns (or fails, --strict-sharing) that the weights were copied (default: half the weights, at least 64m)",
        "SIZE", 0L, Size(1 << 20, "256m"));

    private readonly Option<bool> _strictSharing = Setting.CreateFlag(
        "--strict-sharing", "ONNX: fail the load, rather than warn, when a session adds more anonymous memory than --onnx-anon-budget");

    private readonly Option<int> _intraOpThreads = Setting.Create(
        "--onnx-intra-op-threads", "ONNX Runtime's threads per inference (default: the cores divided by the executor threads of the model)",
        "N", 0, Integer(1, 256));

    public IEnumerable<Option> Options => [_sharing, _fallback, _anonymousBudget, _strictSharing, _intraOpThreads];

    /// <summary>The backends with these settings, for a model served by <paramref name="executors"/> executor threads in all.</summary>
    public BackendCatalog Build(ParseResult parsed, string cacheDirectory, int executors) =>
        BackendCatalog.Create(new OnnxBackendOptions
        {
            Sharing = parsed.GetValue(_sharing),
            FallbackToNoPrepack = parsed.GetValue(_fallback),
            AnonymousMemoryBudget = parsed.GetValue(_anonymousBudget) is > 0 and long budget ? budget : null,
            StrictSharing = parsed.GetValue(_strictSharing),
            IntraOpThreads = parsed.GetValue(_intraOpThreads) is > 0 and int threads ? threads : IntraOpThreadsFor(Environment.ProcessorCount, executors),
            CacheDirectory = cacheDirectory,
        });

    /// <summary>
    /// Intra-op threads per session so that executors × intra-op threads fill the cores without oversubscribing
    /// them: cores / executors, at least 1 (1 with the default one executor per core; 2 for one worker on 2 cores).
    /// </summary>
    public static int IntraOpThreadsFor(int cores, int executors) => Math.Max(1, cores / Math.Max(1, executors));

    private static bool Sharing(string text, out OnnxWeightSharing value, out string reason)
    {
        reason = "must be prepacked, noprepack or private";
        return OnnxBackendOptions.TryParseSharing(text, out value);
    }

    private static bool Fallback(string text, out bool value, out string reason)
    {
        reason = "must be noprepack or none";
        value = text == "noprepack";
        return text is "noprepack" or "none";
    }
}
