namespace Sharpserve.Abstractions;

/// <summary>Name, element type and shape of a model input or output; -1 marks a dynamic dimension.</summary>
public sealed record TensorMetadata(string Name, TensorDataType DataType, IReadOnlyList<long> Shape);
