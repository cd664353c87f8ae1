using System.Globalization;
using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;

namespace Sharpserve.Hosting;

/// <summary>
/// Whether a model can be batched as its settings ask: batching concatenates requests along the first dimension of
/// every input and cuts every output back along its first, so each must have a known rank and a variable first
/// dimension (-1). Checked once at start (and at a repository load), before anything is served.
/// </summary>
internal static class BatchingCheck
{
    /// <summary>What stops <paramref name="model"/> from batching, or null.</summary>
    /// <param name="setting">Where the batching came from, for the message: "--max-batch-size 8", a config.json's field.</param>
    public static string? Problem(ModelDescription model, BatchingOptions batching, string setting)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batching);
        if (!batching.IsEnabled)
        {
            return null;
        }

        foreach ((string kind, IReadOnlyList<TensorMetadata> tensors) in (ReadOnlySpan<(string, IReadOnlyList<TensorMetadata>)>)[("input", model.Metadata.Inputs), ("output", model.Metadata.Outputs)])
        {
            foreach (TensorMetadata tensor in tensors)
            {
                string? why = tensor.AnyRank ? "declares no shape"
                    : tensor.Shape.Count == 0 ? "is a scalar"
                    : tensor.Shape[0] >= 0 ? $"has shape {TensorText.Shape(tensor.Shape)}, whose first dimension is fixed at {tensor.Shape[0].ToString(CultureInfo.InvariantCulture)}"
                    : null;
                if (why is not null)
                {
                    return $"{setting}: model '{model.Name}' cannot be batched: its {kind} '{tensor.Name}' {why}; batching joins requests along a variable first dimension (-1). " +
                        "Export the model with a dynamic batch dimension, or leave batching off (max batch size 1)";
                }
            }
        }

        return null;
    }
}
