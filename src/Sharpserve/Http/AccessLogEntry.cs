using System.Net;

namespace Sharpserve.Http;

/// <summary>
/// What the access log needs of one request, captured on the request thread without formatting (strings Kestrel
/// already has, numbers); the writer thread resolves the client through the trusted proxies and formats the line.
/// </summary>
internal readonly record struct AccessLogEntry(
    DateTime Time,
    IPAddress? Peer,
    string? ForwardedFor,
    string? ForwardedProto,
    string Scheme,
    string Method,
    string Target,
    string Protocol,
    int Status,
    long Bytes,
    double DurationSeconds,
    string? Referer,
    string? UserAgent,
    string? Model,
    string? ModelVersion);
