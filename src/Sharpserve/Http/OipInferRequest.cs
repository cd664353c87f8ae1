using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>A parsed and validated OIP infer request: the request for the model plus protocol-level fields.</summary>
internal sealed record OipInferRequest(InferenceRequest Request, string? Id, IReadOnlyList<string>? RequestedOutputs);
