namespace Sharpserve.Ipc;

/// <summary>The peer sent bytes that break the protocol; the connection (and the worker behind it) is unusable.</summary>
public sealed class IpcProtocolException : Exception
{
    public IpcProtocolException()
    {
    }

    public IpcProtocolException(string message)
        : base(message)
    {
    }

    public IpcProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
