using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>A parsed and validated OIP infer request: the request for the model plus protocol-level fields.</summary>
internal sealed record OipInferRequest(InferenceRequest Request, string? Id, IReadOnlyList<string>? RequestedOutputs)
{
    /// <summary>The request's <c>parameters.binary_data_output</c>: every output as binary data unless it says otherwise.</summary>
    public bool BinaryDataOutput { get; init; }

    /// <summary>
    /// Each requested output's <c>parameters.binary_data</c>, by its index in <see cref="RequestedOutputs"/> (null where
    /// not given); null when no output gives it.
    /// </summary>
    public IReadOnlyList<bool?>? BinaryOutputs { get; init; }

    /// <summary>Whether <paramref name="output"/> is answered as binary data: its own 'binary_data', else 'binary_data_output'.</summary>
    public bool IsBinary(string output)
    {
        if (BinaryOutputs is { } flags && RequestedOutputs is { } names)
        {
            for (int i = 0; i < flags.Count; i++)
            {
                if (names[i] == output && flags[i] is bool flag)
                {
                    return flag;
                }
            }
        }

        return BinaryDataOutput;
    }
}
