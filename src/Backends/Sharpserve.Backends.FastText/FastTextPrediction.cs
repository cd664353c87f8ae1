namespace Sharpserve.Backends.FastText;

/// <summary>One predicted label: its index (0-based among labels, see <see cref="FastTextModel.GetLabel"/>) and probability.</summary>
public readonly record struct FastTextPrediction(int LabelIndex, float Probability);
