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
    /// The settings a worker process needs to open a model as the front prepared it, as name=value pairs for its
    /// command line (docs/worker-protocol.md: a worker gets its settings explicitly, never from the environment).
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> ToSettings()
    {
        var settings = new List<KeyValuePair<string, string>>
        {
            new("onnx.sharing", SharingName(Sharing)),
            new("onnx.fallback", FallbackToNoPrepack ? "noprepack" : "none"),
            new("onnx.strict_sharing", StrictSharing ? "1" : "0"),
            new("onnx.intra_op_threads", IntraOpThreads.ToString(CultureInfo.InvariantCulture)),
        };
        if (AnonymousMemoryBudget is { } budget)
        {
            settings.Add(new("onnx.anon_budget_bytes", budget.ToString(CultureInfo.InvariantCulture)));
        }

        if (CacheDirectory is { } cache)
        {
            settings.Add(new("cache_dir", cache));
        }

        return settings;
    }

    /// <summary>The options <see cref="ToSettings"/> wrote; unknown names are ignored (they belong to other backends).</summary>
    /// <exception cref="ArgumentException">A value is malformed.</exception>
    public static OnnxBackendOptions FromSettings(IEnumerable<KeyValuePair<string, string>> settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var options = new OnnxBackendOptions();
        foreach ((string name, string value) in settings)
        {
            options = name switch
            {
                "onnx.sharing" => options with { Sharing = TryParseSharing(value, out OnnxWeightSharing sharing) ? sharing : throw Bad(name, value) },
                "onnx.fallback" => options with { FallbackToNoPrepack = value switch { "noprepack" => true, "none" => false, _ => throw Bad(name, value) } },
                "onnx.strict_sharing" => options with { StrictSharing = value switch { "1" => true, "0" => false, _ => throw Bad(name, value) } },
                "onnx.intra_op_threads" => options with { IntraOpThreads = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t >= 1 ? t : throw Bad(name, value) },
                "onnx.anon_budget_bytes" => options with { AnonymousMemoryBudget = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long b) ? b : throw Bad(name, value) },
                "cache_dir" => options with { CacheDirectory = value },
                _ => options,
            };
        }

        return options;
    }

    /// <summary>prepacked, noprepack or private.</summary>
    public static bool TryParseSharing(string text, out OnnxWeightSharing sharing)
    {
        switch (text)
        {
            case "prepacked":
                sharing = OnnxWeightSharing.Prepacked;
                return true;
            case "noprepack":
                sharing = OnnxWeightSharing.NoPrepack;
                return true;
            case "private":
                sharing = OnnxWeightSharing.Private;
                return true;
            default:
                sharing = default;
                return false;
        }
    }

    public static string SharingName(OnnxWeightSharing sharing) => sharing switch
    {
        OnnxWeightSharing.NoPrepack => "noprepack",
        OnnxWeightSharing.Private => "private",
        _ => "prepacked",
    };

    private static ArgumentException Bad(string name, string value) => new($"setting {name} has an invalid value '{value}'");
}
