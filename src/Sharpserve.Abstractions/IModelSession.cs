namespace Sharpserve.Abstractions;

/// <summary>Per-executor scratch state of a model; not thread-safe, reused for every request of its executor.</summary>
public interface IModelSession : IDisposable
{
    /// <summary>Runs one request. Invalid input is returned as a <see cref="InferErrorKind.BadInput"/> error.</summary>
    InferResult Infer(InferenceRequest request);

    /// <summary>
    /// Runs several requests and writes one result per request, in order: <c>results[i]</c> answers
    /// <c>requests[i]</c>, and an error (bad input, say) is that request's alone. The entry point for batching
    /// executors; this default runs the requests one by one through <see cref="Infer"/>, and a backend that can
    /// run them as one batch overrides it. A batching executor passes requests whose inputs have the same names, in the
    /// same order, the same datatypes and the same dimensions except the first; their requested outputs and parameters
    /// may differ, and each result must honour its own request's. As with <see cref="Infer"/>, an exception is a bug,
    /// not an outcome: it leaves the results from the failing request on unset, and a batching executor then runs
    /// every request of the batch alone through <see cref="Infer"/> (as it does for any result left unset).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="results"/> is not as long as <paramref name="requests"/>.</exception>
    void InferBatch(ReadOnlySpan<InferenceRequest> requests, Span<InferResult> results)
    {
        if (results.Length != requests.Length)
        {
            throw new ArgumentException($"{requests.Length} requests need as many results, got room for {results.Length}", nameof(results));
        }

        for (int i = 0; i < requests.Length; i++)
        {
            results[i] = Infer(requests[i]);
        }
    }
}
