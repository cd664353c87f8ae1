using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Sharpserve.Http;

/// <summary>
/// The access log (<c>--access-log FILE|-</c>): one line per request, written off the request thread. A request
/// hands a small record to a queue (one enqueue); one writer task formats the lines into a buffer and writes it when
/// the queue runs dry or the buffer fills, so a busy server writes many lines per system call. When the writer cannot
/// keep up, the newest lines are dropped, never queued without bound or waited for, and a warning says how many.
/// SIGUSR1 reopens the file (log rotation) once the lines of the requests before it are written to the old one.
/// </summary>
internal sealed partial class AccessLog : IAsyncDisposable
{
    /// <summary>Lines waiting for the writer; past this they are dropped.</summary>
    private const int Capacity = 65536;

    /// <summary>Bytes formatted before a write even while more lines wait.</summary>
    private const int WriteThreshold = 64 * 1024;

    /// <summary>Queued by <see cref="Reopen"/>: the writer reopens the file when it reaches it, after the lines before it.</summary>
    private static readonly AccessLogEntry ReopenMarker = default;

    // Unbounded with a count rather than a bounded channel: the single-reader unbounded channel takes no lock per
    // write (its design; not a gain measured on this 2-core VM), and every request writes here.
    private readonly Channel<AccessLogEntry> _entries = Channel.CreateUnbounded<AccessLogEntry>(
        new UnboundedChannelOptions { SingleReader = true });

    private readonly AccessLogOptions _options;
    private readonly AccessLogFormatter _formatter;
    private readonly ILogger _logger;
    private readonly Task _writing;
    private Stream _stream;
    private int _queued;
    private int _dropped;

    private AccessLog(AccessLogOptions options, TrustedProxies proxies, Stream stream, ILogger logger)
    {
        _options = options;
        _formatter = new AccessLogFormatter(options.Format, proxies);
        _stream = stream;
        _logger = logger;
        _writing = Task.Run(WriteLoopAsync);
    }

    /// <summary>Opens the file for appending (created with mode 0640), or standard output for "-".</summary>
    /// <exception cref="IOException">The file cannot be opened; the message names it.</exception>
    public static AccessLog Open(AccessLogOptions options, TrustedProxies proxies, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AccessLog(options, proxies, OpenStream(options), logger);
    }

    private static Stream OpenStream(AccessLogOptions options)
    {
        if (options.ToStandardOutput)
        {
            return Console.OpenStandardOutput();
        }

        try
        {
            var file = new FileStreamOptions
            {
                Mode = FileMode.Append,
                Access = FileAccess.Write,
                Share = FileShare.ReadWrite | FileShare.Delete,
                BufferSize = 0, // lines are batched here; FileStream's own buffer would copy them once more
            };
            if (!OperatingSystem.IsWindows())
            {
                file.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
            }

            return new FileStream(options.Path, file);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException or ArgumentException or NotSupportedException)
        {
            throw new IOException($"cannot open the access log '{options.Path}': {ex.Message}", ex);
        }
    }

    /// <summary>Hands a line to the writer; never blocks (a full queue drops the line).</summary>
    public void Record(in AccessLogEntry entry)
    {
        if (Interlocked.Increment(ref _queued) <= Capacity && _entries.Writer.TryWrite(entry))
        {
            return;
        }

        Interlocked.Decrement(ref _queued);
        Interlocked.Increment(ref _dropped);
    }

    /// <summary>Reopens the file at its path, after a log rotation moved it (SIGUSR1); lines already queued go to the old file.</summary>
    public void Reopen()
    {
        if (!_options.ToStandardOutput)
        {
            _ = _entries.Writer.TryWrite(ReopenMarker);
        }
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(WriteThreshold * 2);
        ChannelReader<AccessLogEntry> reader = _entries.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out AccessLogEntry entry))
            {
                if (entry.Method is null)
                {
                    Flush(buffer);
                    ReopenStream();
                    continue;
                }

                Interlocked.Decrement(ref _queued);
                _formatter.Write(entry, buffer);
                if (buffer.WrittenCount >= WriteThreshold)
                {
                    Flush(buffer);
                }
            }

            Flush(buffer);
            int dropped = Interlocked.Exchange(ref _dropped, 0);
            if (dropped > 0)
            {
                Log.Dropped(_logger, dropped, _options.Path);
            }
        }
    }

    private void ReopenStream()
    {
        try
        {
            Stream fresh = OpenStream(_options);
            _stream.Dispose();
            _stream = fresh;
            Log.Reopened(_logger, _options.Path);
        }
        catch (IOException ex)
        {
            Log.ReopenFailed(_logger, ex, _options.Path);
        }
    }

    private void Flush(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0)
        {
            return;
        }

        try
        {
            _stream.Write(buffer.WrittenSpan);
            _stream.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or UnauthorizedAccessException)
        {
            // A full disk must not stop serving: the lines are lost, said once per failure.
            Log.WriteFailed(_logger, ex, _options.Path);
        }

        buffer.ResetWrittenCount();
    }

    public async ValueTask DisposeAsync()
    {
        _entries.Writer.TryComplete();
        await _writing.ConfigureAwait(false);
        if (!_options.ToStandardOutput)
        {
            _stream.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2101, LogLevel.Information, "Access log {Path} reopened")]
        public static partial void Reopened(ILogger logger, string path);

        [LoggerMessage(2102, LogLevel.Error, "Access log {Path} could not be reopened; still writing to the old file")]
        public static partial void ReopenFailed(ILogger logger, Exception exception, string path);

        [LoggerMessage(2103, LogLevel.Error, "Access log {Path} could not be written; these lines are lost")]
        public static partial void WriteFailed(ILogger logger, Exception exception, string path);

        [LoggerMessage(2104, LogLevel.Warning, "Access log {Path}: {Count} lines dropped; the writer fell behind by more than 65,536 lines")]
        public static partial void Dropped(ILogger logger, int count, string path);
    }
}
