namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Dimension <see cref="Axis"/> of input <see cref="Input"/> has the symbolic name <see cref="Symbol"/>, as dimension
/// <see cref="FirstAxis"/> of input <see cref="FirstInput"/> (its first use) does, so a request must give both one size.
/// Inputs are indexes into the model's metadata inputs.
/// </summary>
internal readonly record struct SharedDimension(int Input, int Axis, int FirstInput, int FirstAxis, string Symbol);
