namespace Sharpserve.Abstractions;

/// <summary>Per-executor scratch state of a model; not thread-safe, reused for every request of its executor.</summary>
public interface IModelSession : IDisposable
{
    /// <summary>Runs one request. Invalid input is returned as a <see cref="InferErrorKind.BadInput"/> error.</summary>
    InferResult Infer(InferenceRequest request);
}
