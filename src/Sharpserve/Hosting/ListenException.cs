namespace Sharpserve.Hosting;

/// <summary>The server cannot listen where it was told to (address in use, not local, no permission); the message says which and why.</summary>
public sealed class ListenException : Exception
{
    public ListenException()
    {
    }

    public ListenException(string message)
        : base(message)
    {
    }

    public ListenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
