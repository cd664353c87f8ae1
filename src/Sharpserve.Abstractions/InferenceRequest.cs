namespace Sharpserve.Abstractions;

/// <summary>One inference call: the input tensors, the request parameters and the outputs asked for.</summary>
public sealed class InferenceRequest(IReadOnlyList<Tensor> inputs, InferenceParameters parameters, IReadOnlyList<string>? outputs = null)
{
    public IReadOnlyList<Tensor> Inputs { get; } = inputs;

    public InferenceParameters Parameters { get; } = parameters;

    /// <summary>
    /// The outputs the caller wants, by name, each once and each one of the model's (the protocol layer checks);
    /// null means all. A backend may compute only these; the caller filters the response either way.
    /// </summary>
    public IReadOnlyList<string>? Outputs { get; } = outputs;

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
