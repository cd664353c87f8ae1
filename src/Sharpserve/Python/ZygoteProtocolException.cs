namespace Sharpserve.Python;

/// <summary>A zygote sent something the control protocol (docs/python-backend.md section 2) does not allow.</summary>
internal sealed class ZygoteProtocolException(string message) : Exception(message);
