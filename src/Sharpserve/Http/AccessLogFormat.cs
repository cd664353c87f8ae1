namespace Sharpserve.Http;

/// <summary>How access-log lines look (<c>--access-log-format</c>).</summary>
public enum AccessLogFormat
{
    /// <summary>gunicorn's default (the Apache/nginx "combined" format) plus duration and model.</summary>
    Combined,

    /// <summary>One JSON object per line.</summary>
    Json,
}
