namespace Sharpserve.LoadClient;

/// <summary>One measured case, written as one JSON line for bench/report/protocols_section.py.</summary>
internal sealed record LoadResult(
    string Case,
    int Conns,
    int TextsPerRequest,
    double Seconds,
    long Requests,
    long Errors,
    double RequestsPerSecond,
    double TextsPerSecond,
    double? P50Ms,
    double? P99Ms,
    string? FirstError);
