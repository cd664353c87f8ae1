using System.Net;
using Microsoft.AspNetCore.Http;
using Sharpserve.Hosting;

namespace Sharpserve.Http;

/// <summary>
/// Whether a load or unload may go ahead, the same for HTTP and gRPC: model control must be on
/// (<c>--model-control explicit</c>), the peer on this machine (a loopback address or a Unix socket listener), the
/// admin token given, and the name a model folder's, checked in that order.
/// </summary>
internal static class AdminGate
{
    /// <summary>Null when allowed; otherwise the HTTP status and the message saying why not.</summary>
    public static (int Status, string Message)? Check(
        ModelControlOptions options, EndPoint? local, IPAddress? remote, string? authorization, string name, string operation)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode != ModelControlMode.Explicit || options.Repository is null)
        {
            return (StatusCodes.Status403Forbidden,
                $"model {operation} is off: start the server with --model-repository DIR --model-control explicit --admin-token-file FILE");
        }

        if (!AdminAccess.IsLocalPeer(local, remote))
        {
            return (StatusCodes.Status403Forbidden,
                $"model {operation} is accepted only from this machine (a loopback address or a Unix socket listener)");
        }

        if (options.AdminToken is not { } token || !AdminAccess.HasToken(authorization, token))
        {
            return (StatusCodes.Status401Unauthorized,
                $"model {operation} needs the admin token: Authorization: Bearer TOKEN (the content of --admin-token-file)");
        }

        if (!ModelRepository.IsValidModelName(name) || name.Contains("..", StringComparison.Ordinal))
        {
            return (StatusCodes.Status400BadRequest,
                $"'{name}' is not a model name: give the name of a model folder of the repository (letters, digits, '_', '-', '.'; no '/', no path, no URL)");
        }

        return null;
    }
}
