namespace Sharpserve.Abstractions;

/// <summary>Name, element type and shape of a model input or output; -1 marks a dynamic dimension.</summary>
public sealed record TensorMetadata(string Name, TensorDataType DataType, IReadOnlyList<long> Shape)
{
    /// <summary>
    /// The model declares no shape at all (ONNX: a tensor type without 'shape'), so a tensor of any rank is taken.
    /// <see cref="Shape"/> is then [-1], what the metadata shows.
    /// </summary>
    public bool AnyRank { get; init; }

    public static TensorMetadata OfAnyRank(string name, TensorDataType dataType) => new(name, dataType, [-1]) { AnyRank = true };

    /// <summary>Whether a tensor of <paramref name="shape"/> fits: same rank (unless <see cref="AnyRank"/>), and every fixed dimension equal.</summary>
    public bool Accepts(IReadOnlyList<long> shape)
    {
        if (AnyRank)
        {
            return true;
        }

        if (shape.Count != Shape.Count)
        {
            return false;
        }

        for (int i = 0; i < shape.Count; i++)
        {
            if (Shape[i] >= 0 && Shape[i] != shape[i])
            {
                return false;
            }
        }

        return true;
    }
}
