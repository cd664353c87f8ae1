using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;

namespace Sharpserve.Http;

/// <summary>
/// Lets the server's own warm-up requests through before the model is ready, so the whole HTTP path (parsing,
/// JSON, scheduler, predict, response writing) is compiled and warm before any client is served. The token is
/// random per process and never logged; anyone without it sees 503 until ready.
/// </summary>
internal sealed class WarmupGate
{
    public const string HeaderName = "X-Sharpserve-Warmup";

    public string Token { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public bool IsWarmupRequest(HttpContext context) =>
        context.Request.Headers.TryGetValue(HeaderName, out var value) && value.Count == 1 && IsToken(value[0]);

    /// <summary>True when <paramref name="value"/> (a header's or gRPC metadata's) is this process's token.</summary>
    public bool IsToken(string? value) =>
        value is not null &&
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(value), System.Text.Encoding.ASCII.GetBytes(Token));
}
