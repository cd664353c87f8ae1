namespace Sharpserve.Abstractions;

/// <summary>Either a response or an expected error; exceptions are kept for bugs.</summary>
public readonly struct InferResult
{
    private InferResult(InferenceResponse? response, InferError? error)
    {
        Response = response;
        Error = error;
    }

    public InferenceResponse? Response { get; }

    public InferError? Error { get; }

    public bool IsSuccess => Error is null;

    public static InferResult Success(InferenceResponse response) => new(response, null);

    public static InferResult Failure(InferError error) => new(null, error);

    public static InferResult Failure(InferErrorKind kind, string message) => new(null, new InferError(kind, message));

    public static implicit operator InferResult(InferError error) => Failure(error);
}
