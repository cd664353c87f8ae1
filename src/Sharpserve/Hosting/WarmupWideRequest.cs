using Sharpserve.Abstractions;

namespace Sharpserve.Hosting;

/// <summary>
/// A model's warm-up request widened along its first dimension, every row repeated, to about <see cref="TargetBytes"/>
/// of input (at most <see cref="MaxRows"/> rows). Clients send many rows a request (tritonclient's numpy batches; the
/// bench's 256 texts), and a large body takes paths a one-row request never does: an HTTP/2 body in several reads,
/// protobuf's segmented reader, per-row loops run often enough to be recompiled. Measured on the demo model without
/// it: a 256-text gRPC request cost ten times a warm one's CPU for the first seconds after ready, while the JIT
/// compiled those paths under the first clients (docs/architecture.md, "Warm before ready").
/// </summary>
internal static class WarmupWideRequest
{
    public const int MaxRows = 256;
    public const int TargetBytes = 16 << 10;

    /// <summary>
    /// The widened request, or null when it would not be wider: an input of fixed first dimension (or none), inputs
    /// that disagree on it, or rows already as large as <see cref="TargetBytes"/> (or <paramref name="maxBytes"/>, when
    /// smaller: a fraction of the body limit, so the widened request is never refused for its size).
    /// </summary>
    public static InferenceRequest? Create(InferenceRequest request, ModelMetadata metadata, long maxBytes = TargetBytes)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(metadata);
        if (request.Inputs.Count == 0 || request.Inputs[0].Shape.Length == 0)
        {
            return null;
        }

        long rows = request.Inputs[0].Shape[0];
        long rowBytes = 0;
        foreach (Tensor input in request.Inputs)
        {
            TensorMetadata? declared = metadata.FindInput(input.Name);
            if (declared is null || declared.Shape.Count == 0 || declared.Shape[0] != -1 || input.Shape.Length == 0 || input.Shape[0] != rows)
            {
                return null;
            }

            rowBytes += rows == 0 ? 0 : Bytes(input) / rows;
        }

        long factor = rows <= 0 ? 1 : Math.Min(MaxRows / rows, Math.Min(TargetBytes, maxBytes) / Math.Max(1, rowBytes));
        if (factor < 2)
        {
            return null;
        }

        var inputs = new Tensor[request.Inputs.Count];
        for (int i = 0; i < inputs.Length; i++)
        {
            inputs[i] = Repeat(request.Inputs[i], (int)factor);
        }

        return new InferenceRequest(inputs, request.Parameters, request.Outputs);
    }

    private static long Bytes(Tensor input) =>
        input.BytesData is { } elements ? elements.Sum(e => 4L + e.Length) : input.RawData.Length;

    private static Tensor Repeat(Tensor input, int factor)
    {
        long[] shape = (long[])input.Shape.Clone();
        shape[0] *= factor;
        if (input.BytesData is { } elements)
        {
            var repeated = new byte[elements.Length * factor][];
            for (int i = 0; i < repeated.Length; i++)
            {
                repeated[i] = elements[i % elements.Length];
            }

            return Tensor.FromBytes(input.Name, shape, repeated);
        }

        ReadOnlySpan<byte> raw = input.RawData;
        var data = new byte[raw.Length * factor];
        for (int i = 0; i < factor; i++)
        {
            raw.CopyTo(data.AsSpan(i * raw.Length));
        }

        return Tensor.FromRaw(input.Name, input.DataType, shape, data);
    }
}
