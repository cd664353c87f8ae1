using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Testing;

/// <summary>
/// A text classifier for scheduler and HTTP tests whose answers and timing the test controls: it labels a text
/// with the text itself (probability 1), can hold warm-up or predictions until released, and throws on
/// "__throw__" to stand for a backend bug.
/// </summary>
public sealed class FakeModel : IModel
{
    public const string WarmupText = "__warmup__";
    public const string ThrowText = "__throw__";

    private int _started;
    private int _completed;

    public FakeModel(string name = "fake")
    {
        Metadata = new ModelMetadata(
            name,
            "fake",
            [new TensorMetadata("text", TensorDataType.Bytes, [-1])],
            [new TensorMetadata("label", TensorDataType.Bytes, [-1, -1]), new TensorMetadata("probability", TensorDataType.Fp32, [-1, -1])]);
        WarmupRequests = [new InferenceRequest([Tensor.FromBytes("text", [1], [Encoding.UTF8.GetBytes(WarmupText)])], InferenceParameters.Default)];
    }

    public ModelMetadata Metadata { get; }

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    public long MappedBytes => 0;

    /// <summary>When set, warm-up predictions wait until it is signalled.</summary>
    public ManualResetEventSlim? WarmupGate { get; set; }

    /// <summary>When set, client predictions wait until it is signalled.</summary>
    public ManualResetEventSlim? PredictGate { get; set; }

    /// <summary>Released once each time a client prediction starts.</summary>
    public SemaphoreSlim PredictStarted { get; } = new(0);

    public int StartedCount => Volatile.Read(ref _started);

    public int CompletedCount => Volatile.Read(ref _completed);

    public bool IsDisposed { get; private set; }

    public IModelSession CreateSession() => new Session(this);

    public void Dispose() => IsDisposed = true;

    private sealed class Session(FakeModel model) : IModelSession
    {
        public InferResult Infer(InferenceRequest request)
        {
            Tensor? text = request.FindInput("text");
            if (text?.BytesData is not { } texts)
            {
                return InferError.BadInput("input 'text' is missing");
            }

            // The server's warm-up sends the warm-up text alone and repeated over many rows (WarmupWideRequest).
            bool warmup = texts.Length >= 1 && Array.TrueForAll(texts, t => t.AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(WarmupText)));
            if (warmup)
            {
                model.WarmupGate?.Wait();
            }
            else
            {
                Interlocked.Increment(ref model._started);
                model.PredictStarted.Release();
                model.PredictGate?.Wait();
            }

            if (texts.Length == 1 && texts[0].AsSpan().SequenceEqual(Encoding.UTF8.GetBytes(ThrowText)))
            {
                throw new InvalidOperationException("fake backend failure");
            }

            int k = request.Parameters.TopK == -1 ? 1 : request.Parameters.TopK;
            var labels = new byte[texts.Length * k][];
            float[] probabilities = new float[texts.Length * k];
            for (int i = 0; i < texts.Length; i++)
            {
                for (int j = 0; j < k; j++)
                {
                    labels[(i * k) + j] = j == 0 ? texts[i] : [];
                    probabilities[(i * k) + j] = j == 0 ? 1f : 0f;
                }
            }

            if (!warmup)
            {
                Interlocked.Increment(ref model._completed);
            }

            return InferResult.Success(new InferenceResponse(
                [Tensor.FromBytes("label", [texts.Length, k], labels), Tensor.FromFp32("probability", [texts.Length, k], probabilities)]));
        }

        public void Dispose()
        {
        }
    }
}
