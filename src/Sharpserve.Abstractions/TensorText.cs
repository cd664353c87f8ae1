namespace Sharpserve.Abstractions;

/// <summary>
/// How messages write shapes and lists of tensors, so a refused request reads the same whether the HTTP layer or a
/// backend refuses it: <c>[1,-1]</c>, <c>'input' (FP32 [1,-1]), 'mask' (BOOL [1,-1])</c>.
/// </summary>
public static class TensorText
{
    /// <summary>A shape as <c>[1,-1,3]</c>.</summary>
    public static string Shape(IReadOnlyList<long> shape) => "[" + string.Join(",", shape) + "]";

    /// <summary>Each tensor's name, datatype and shape, separated by commas.</summary>
    public static string List(IReadOnlyList<TensorMetadata> tensors)
    {
        var parts = new string[tensors.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = $"'{tensors[i].Name}' ({tensors[i].DataType.ToProtocolName()} {Shape(tensors[i].Shape)})";
        }

        return string.Join(", ", parts);
    }
}
