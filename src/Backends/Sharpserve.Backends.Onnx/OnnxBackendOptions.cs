using System.Globalization;

namespace Sharpserve.Backends.Onnx;

/// <summary>How the ONNX backend loads and guards its models. Immutable; validated where it is parsed.</summary>
public sealed record OnnxBackendOptions
{
    /// <summary>Largest element count of one input tensor, checked against its shape before anything is allocated.</summary>
    public long MaxElementsPerTensor { get; init; } = 1 << 24;

    /// <summary>Largest byte size of one input tensor (elements × element size; BYTES: the sum of element lengths).</summary>
    public long MaxBytesPerTensor { get; init; } = 256L << 20;

    /// <summary>
    /// ONNX Runtime intra-op threads per Run. The session is shared by every executor thread, so executors ×
    /// intra-op threads should not exceed the cores: the default 1 lets the executors be the parallelism.
    /// </summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>How the weights are shared between sessions and processes.</summary>
    public OnnxWeightSharing Sharing { get; init; } = OnnxWeightSharing.Prepacked;

    /// <summary>When baking the prepacked form fails, serve with <see cref="OnnxWeightSharing.NoPrepack"/> (logged) instead of failing.</summary>
    public bool FallbackToNoPrepack { get; init; } = true;

    /// <summary>Where baked models are kept (a folder per model, ORT version and CPU); null disables baking.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// Anonymous (private) memory a model may add to a process when its session is created; more means the
    /// weights were copied rather than shared. Over it: a warning, or a load failure with <see cref="StrictSharing"/>.
    /// </summary>
    /// <remarks>Null (the default): <see cref="DefaultAnonymousMemoryBudget"/> of the model's weights.</remarks>
    public long? AnonymousMemoryBudget { get; init; }

    /// <summary>
    /// The budget for a model with <paramref name="weightBytes"/> of weights when none is configured: half the
    /// weights, since a private copy of the prepacked weights is about their size in anonymous memory, and at
    /// least 64 MiB, what a session's own structures and arenas may take for a small model.
    /// </summary>
    public static long DefaultAnonymousMemoryBudget(long weightBytes) => Math.Max(64L << 20, weightBytes / 2);

    /// <summary>The budget that applies to a model with <paramref name="weightBytes"/> of weights.</summary>
    public long AnonymousMemoryBudgetFor(long weightBytes) => AnonymousMemoryBudget ?? DefaultAnonymousMemoryBudget(weightBytes);

    /// <summary>Fail the load (instead of warning) when the session's anonymous memory exceeds the budget.</summary>
    public bool StrictSharing { get; init; }

    /// <summary>Reads the process's anonymous memory in bytes (<c>/proc/self/smaps_rollup</c>); replaceable in tests.</summary>
    public Func<long> AnonymousMemoryProbe { get; init; } = ProcessAnonymousMemory.Read;

    /// <summary>Where the backend reports fallbacks and budget warnings; by default standard error.</summary>
    public Action<string> Log { get; init; } = static message => Console.Error.WriteLine($"onnx: {message}");

    /// <summary>
    /// Reads <c>SHARPSERVE_ONNX_INTRA_OP_THREADS</c>, <c>SHARPSERVE_ONNX_SHARING</c> (prepacked, noprepack, private),
    /// <c>SHARPSERVE_ONNX_FALLBACK</c> (noprepack, none), <c>SHARPSERVE_ONNX_ANON_BUDGET_MB</c> and
    /// <c>SHARPSERVE_ONNX_STRICT_SHARING</c> (1/0); invalid values are reported in <paramref name="problems"/>,
    /// each naming the setting.
    /// </summary>
    public static OnnxBackendOptions FromEnvironment(ICollection<string> problems, string? cacheDirectory)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var options = new OnnxBackendOptions { CacheDirectory = cacheDirectory };
        switch (Environment.GetEnvironmentVariable("SHARPSERVE_ONNX_SHARING"))
        {
            case null or "" or "prepacked":
                break;
            case "noprepack":
                options = options with { Sharing = OnnxWeightSharing.NoPrepack };
                break;
            case "private":
                options = options with { Sharing = OnnxWeightSharing.Private };
                break;
            case { } other:
                problems.Add($"SHARPSERVE_ONNX_SHARING must be prepacked, noprepack or private, got '{other}'");
                break;
        }

        switch (Environment.GetEnvironmentVariable("SHARPSERVE_ONNX_FALLBACK"))
        {
            case null or "" or "noprepack":
                break;
            case "none":
                options = options with { FallbackToNoPrepack = false };
                break;
            case { } other:
                problems.Add($"SHARPSERVE_ONNX_FALLBACK must be noprepack or none, got '{other}'");
                break;
        }

        string? budget = Environment.GetEnvironmentVariable("SHARPSERVE_ONNX_ANON_BUDGET_MB");
        if (!string.IsNullOrEmpty(budget))
        {
            if (long.TryParse(budget, NumberStyles.None, CultureInfo.InvariantCulture, out long mb) && mb is >= 1 and <= 1 << 20)
            {
                options = options with { AnonymousMemoryBudget = mb << 20 };
            }
            else
            {
                problems.Add($"SHARPSERVE_ONNX_ANON_BUDGET_MB must be a whole number of MiB from 1 to 1048576, got '{budget}'");
            }
        }

        switch (Environment.GetEnvironmentVariable("SHARPSERVE_ONNX_STRICT_SHARING"))
        {
            case null or "" or "0":
                break;
            case "1":
                options = options with { StrictSharing = true };
                break;
            case { } other:
                problems.Add($"SHARPSERVE_ONNX_STRICT_SHARING must be 1 or 0, got '{other}'");
                break;
        }

        string? threads = Environment.GetEnvironmentVariable("SHARPSERVE_ONNX_INTRA_OP_THREADS");
        if (!string.IsNullOrEmpty(threads))
        {
            if (int.TryParse(threads, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t is >= 1 and <= 256)
            {
                options = options with { IntraOpThreads = t };
            }
            else
            {
                problems.Add($"SHARPSERVE_ONNX_INTRA_OP_THREADS must be an integer from 1 to 256, got '{threads}'");
            }
        }

        return options;
    }
}
