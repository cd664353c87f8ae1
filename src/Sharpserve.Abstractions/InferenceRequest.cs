namespace Sharpserve.Abstractions;

/// <summary>One inference call: the input tensors and the request parameters.</summary>
public sealed class InferenceRequest(IReadOnlyList<Tensor> inputs, InferenceParameters parameters)
{
    public IReadOnlyList<Tensor> Inputs { get; } = inputs;

    public InferenceParameters Parameters { get; } = parameters;

    /// <summary>Finds an input by name, or returns null.</summary>
    public Tensor? FindInput(string name)
    {
        for (int i = 0; i < Inputs.Count; i++)
        {
            if (string.Equals(Inputs[i].Name, name, StringComparison.Ordinal))
            {
                return Inputs[i];
            }
        }

        return null;
    }
}
