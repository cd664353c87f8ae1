namespace Sharpserve.Abstractions;

/// <summary>A model file cannot be loaded: missing, truncated, corrupt or of an unsupported kind.</summary>
public sealed class ModelLoadException : Exception
{
    public ModelLoadException()
    {
    }

    public ModelLoadException(string message)
        : base(message)
    {
    }

    public ModelLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
