namespace Sharpserve.Http.Status;

/// <summary>
/// The document of <c>GET /status</c>, written by <see cref="StatusEndpoint"/> and read by <c>sharpserve status</c>,
/// both through <see cref="StatusJsonContext"/> (snake_case names). Fields are only ever added: a field a newer
/// server adds is ignored by an older reader, and fields added after the first version are optional here.
/// </summary>
internal sealed record StatusDocument
{
    /// <summary>Every served (name, version) is ready.</summary>
    public required bool Ready { get; init; }

    public required FrontStatus Front { get; init; }

    public required IReadOnlyList<ModelStatus> Models { get; init; }
}
