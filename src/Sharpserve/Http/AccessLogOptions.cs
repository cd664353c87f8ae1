namespace Sharpserve.Http;

/// <summary>The access log: where (<c>--access-log FILE|-</c>) and in which format.</summary>
public sealed record AccessLogOptions(string Path, AccessLogFormat Format = AccessLogFormat.Combined)
{
    /// <summary>"-": standard output.</summary>
    public bool ToStandardOutput => Path == "-";
}
