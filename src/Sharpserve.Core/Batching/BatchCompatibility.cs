using Sharpserve.Abstractions;

namespace Sharpserve.Core.Batching;

/// <summary>
/// Which requests may share one model call: the same input names in the same order, the same datatypes, and the same
/// dimensions except the first, along which the backend concatenates them. Requested outputs and parameters may
/// differ: <see cref="IModelSession.InferBatch"/> answers each request with its own.
/// </summary>
public static class BatchCompatibility
{
    /// <summary>A request whose every input has a first dimension to concatenate along (rank 1 or more).</summary>
    public static bool IsBatchable(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        IReadOnlyList<Tensor> inputs = request.Inputs;
        if (inputs.Count == 0)
        {
            return false;
        }

        for (int i = 0; i < inputs.Count; i++)
        {
            if (inputs[i].Shape.Length == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="other"/> can join a batch that <paramref name="first"/> (a batchable request) started.
    /// </summary>
    public static bool AreCompatible(InferenceRequest first, InferenceRequest other)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(other);
        IReadOnlyList<Tensor> a = first.Inputs;
        IReadOnlyList<Tensor> b = other.Inputs;
        if (a.Count != b.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Count; i++)
        {
            Tensor x = a[i];
            Tensor y = b[i];
            if (x.DataType != y.DataType || x.Shape.Length != y.Shape.Length || y.Shape.Length == 0 ||
                !string.Equals(x.Name, y.Name, StringComparison.Ordinal) ||
                !x.Shape.AsSpan(1).SequenceEqual(y.Shape.AsSpan(1)))
            {
                return false;
            }
        }

        return true;
    }
}
