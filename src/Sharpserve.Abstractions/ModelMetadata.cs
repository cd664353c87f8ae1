namespace Sharpserve.Abstractions;

/// <summary>What the Open Inference Protocol's model metadata endpoint reports for a model.</summary>
public sealed record ModelMetadata(
    string Name,
    string Platform,
    IReadOnlyList<TensorMetadata> Inputs,
    IReadOnlyList<TensorMetadata> Outputs)
{
    /// <summary>Finds an input by name, or returns null.</summary>
    public TensorMetadata? FindInput(string name) => Find(Inputs, name);

    /// <summary>Finds an output by name, or returns null.</summary>
    public TensorMetadata? FindOutput(string name) => Find(Outputs, name);

    private static TensorMetadata? Find(IReadOnlyList<TensorMetadata> tensors, string name)
    {
        foreach (TensorMetadata tensor in tensors)
        {
            if (tensor.Name == name)
            {
                return tensor;
            }
        }

        return null;
    }
}
