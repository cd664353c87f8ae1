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

    /// <summary>Reads <c>SHARPSERVE_ONNX_INTRA_OP_THREADS</c>; an invalid value is reported in <paramref name="problems"/>.</summary>
    public static OnnxBackendOptions FromEnvironment(ICollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var options = new OnnxBackendOptions();
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
