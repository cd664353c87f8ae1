using System.Collections.Concurrent;
using Sharpserve.Abstractions;

namespace Sharpserve.Testing;

/// <summary>
/// A model for batching tests that records every model call: input <c>x</c> (FP32, any rows and columns), output
/// <c>y</c> = 2·x with x's shape. Its session overrides <see cref="IModelSession.InferBatch"/> and, like a native
/// batch call, refuses a whole batch when any request in it holds a NaN (it throws); alone, a NaN is that request's
/// bad input. The warm-up is one call of one row, recorded like the others (<see cref="Calls"/> can be cleared).
/// </summary>
public sealed class BatchRecordingModel : IModel
{
    public BatchRecordingModel(string name = "batch")
    {
        Metadata = new ModelMetadata(
            name,
            "fake",
            [new TensorMetadata("x", TensorDataType.Fp32, [-1, -1])],
            [new TensorMetadata("y", TensorDataType.Fp32, [-1, -1])]);
        WarmupRequests = [Request(0f)];
    }

    public ModelMetadata Metadata { get; }

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    public long MappedBytes => 0;

    /// <summary>Every call, in order: the first value of each request it ran (one element for <see cref="IModelSession.Infer"/>).</summary>
    public ConcurrentQueue<float[]> Calls { get; } = new();

    /// <summary>Every call's input shapes (the second dimension of each request's x), in the order of <see cref="Calls"/>.</summary>
    public ConcurrentQueue<long[]> CallWidths { get; } = new();

    /// <summary>When set, every call waits for it after being recorded, so requests pile up in the queue meanwhile.</summary>
    public ManualResetEventSlim? CallGate { get; set; }

    /// <summary>Released once each time a call starts (is recorded).</summary>
    public SemaphoreSlim CallStarted { get; } = new(0);

    /// <summary>A request of one row holding <paramref name="values"/> (default: one value).</summary>
    public static InferenceRequest Request(params float[] values) =>
        new([Tensor.FromFp32("x", [1, values.Length], values)], InferenceParameters.Default);

    public IModelSession CreateSession() => new Session(this);

    public void Dispose()
    {
    }

    private sealed class Session(BatchRecordingModel model) : IModelSession
    {
        public InferResult Infer(InferenceRequest request)
        {
            Record([request]);
            return Answer(request);
        }

        public void InferBatch(ReadOnlySpan<InferenceRequest> requests, Span<InferResult> results)
        {
            Record(requests);
            foreach (InferenceRequest request in requests)
            {
                if (request.FindInput("x")?.Fp32Data is { } data && Array.Exists(data, float.IsNaN))
                {
                    throw new InvalidOperationException("the batch holds a NaN");
                }
            }

            for (int i = 0; i < requests.Length; i++)
            {
                results[i] = Answer(requests[i]);
            }
        }

        private void Record(ReadOnlySpan<InferenceRequest> requests)
        {
            float[] firsts = new float[requests.Length];
            long[] widths = new long[requests.Length];
            for (int i = 0; i < requests.Length; i++)
            {
                Tensor x = requests[i].FindInput("x")!;
                firsts[i] = x.Fp32Data is { Length: > 0 } data ? data[0] : float.NaN;
                widths[i] = x.Shape.Length > 1 ? x.Shape[1] : -1;
            }

            model.Calls.Enqueue(firsts);
            model.CallWidths.Enqueue(widths);
            model.CallStarted.Release();
            model.CallGate?.Wait();
        }

        private static InferResult Answer(InferenceRequest request)
        {
            if (request.FindInput("x") is not { Fp32Data: { } data } x)
            {
                return InferError.BadInput("input 'x' (FP32) is missing");
            }

            if (Array.Exists(data, float.IsNaN))
            {
                return InferError.BadInput("input 'x' holds a NaN");
            }

            float[] y = new float[data.Length];
            for (int i = 0; i < data.Length; i++)
            {
                y[i] = 2 * data[i];
            }

            return InferResult.Success(new InferenceResponse([Tensor.FromFp32("y", x.Shape, y)]));
        }

        public void Dispose()
        {
        }
    }
}
