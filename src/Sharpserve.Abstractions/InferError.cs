namespace Sharpserve.Abstractions;

/// <summary>An expected failure of one inference call: its kind and a message meant for the client.</summary>
public sealed record InferError(InferErrorKind Kind, string Message)
{
    public static InferError BadInput(string message) => new(InferErrorKind.BadInput, message);
}
