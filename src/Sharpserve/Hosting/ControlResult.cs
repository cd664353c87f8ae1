namespace Sharpserve.Hosting;

/// <summary>How a repository API operation ended: an HTTP status and, for a failure, the message of its error body.</summary>
internal sealed record ControlResult(int StatusCode, string? Error)
{
    public static readonly ControlResult Ok = new(200, null);

    public static ControlResult BadRequest(string error) => new(400, error);

    public static ControlResult NotFound(string error) => new(404, error);

    public static ControlResult Unavailable(string error) => new(503, error);
}
