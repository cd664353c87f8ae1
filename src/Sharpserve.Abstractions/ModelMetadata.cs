namespace Sharpserve.Abstractions;

/// <summary>What the Open Inference Protocol's model metadata endpoint reports for a model.</summary>
public sealed record ModelMetadata(
    string Name,
    string Platform,
    IReadOnlyList<TensorMetadata> Inputs,
    IReadOnlyList<TensorMetadata> Outputs);
