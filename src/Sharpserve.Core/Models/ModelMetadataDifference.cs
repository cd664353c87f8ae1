using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Core.Models;

/// <summary>
/// What differs between two descriptions of a model as clients see it: the platform, and each input's and
/// output's name, datatype and shape. The front validates requests against one description, so a model whose
/// description differs cannot replace a served one under the same name (a reload is refused, see
/// <c>Hosting/ReloadCheck</c>). Label names, weights and the like are not part of it.
/// </summary>
public static class ModelMetadataDifference
{
    /// <summary>Null when the two are the same to a client; otherwise every difference, in one line.</summary>
    public static string? Describe(ModelMetadata current, ModelMetadata candidate)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(candidate);
        var differences = new List<string>();
        if (current.Platform != candidate.Platform)
        {
            differences.Add($"platform {current.Platform} -> {candidate.Platform}");
        }

        Compare("inputs", current.Inputs, candidate.Inputs, differences);
        Compare("outputs", current.Outputs, candidate.Outputs, differences);
        return differences.Count == 0 ? null : string.Join("; ", differences);
    }

    private static void Compare(string what, IReadOnlyList<TensorMetadata> current, IReadOnlyList<TensorMetadata> candidate, List<string> differences)
    {
        if (current.Count != candidate.Count)
        {
            differences.Add($"{what} {Format(current)} -> {Format(candidate)}");
            return;
        }

        for (int i = 0; i < current.Count; i++)
        {
            if (!Same(current[i], candidate[i]))
            {
                differences.Add($"{what} {Format(current)} -> {Format(candidate)}");
                return;
            }
        }
    }

    private static bool Same(TensorMetadata a, TensorMetadata b) =>
        a.Name == b.Name && a.DataType == b.DataType && a.AnyRank == b.AnyRank && a.Shape.SequenceEqual(b.Shape);

    /// <summary>e.g. [x FP32 [1,64], ids INT64 [-1,5]]</summary>
    private static string Format(IReadOnlyList<TensorMetadata> tensors)
    {
        var text = new StringBuilder("[");
        for (int i = 0; i < tensors.Count; i++)
        {
            TensorMetadata tensor = tensors[i];
            text.Append(i == 0 ? "" : ", ").Append(tensor.Name).Append(' ').Append(tensor.DataType.ToProtocolName())
                .Append(" [").AppendJoin(',', tensor.Shape).Append(']');
        }

        return text.Append(']').ToString();
    }
}
