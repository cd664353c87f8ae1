namespace Sharpserve.Abstractions;

/// <summary>The output tensors of one inference call.</summary>
public sealed class InferenceResponse(IReadOnlyList<Tensor> outputs)
{
    public IReadOnlyList<Tensor> Outputs { get; } = outputs;
}
