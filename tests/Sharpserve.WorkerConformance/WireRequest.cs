namespace Sharpserve.WorkerConformance;

/// <summary>What an Infer frame carries: the input tensors, the classifier parameters k and threshold, and the
/// outputs asked for (null: every output, sent as the count 0xFFFF).</summary>
public sealed record WireRequest(IReadOnlyList<WireTensor> Inputs, int K = 1, float Threshold = 0f, IReadOnlyList<string>? RequestedOutputs = null);
