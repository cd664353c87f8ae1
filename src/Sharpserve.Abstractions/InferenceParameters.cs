namespace Sharpserve.Abstractions;

/// <summary>
/// Request-level parameters understood by classifiers: how many labels to return (-1 means all, as in fastText)
/// and the probability below which a label is dropped.
/// </summary>
public readonly record struct InferenceParameters(int TopK, float Threshold)
{
    public static InferenceParameters Default => new(1, 0f);
}
