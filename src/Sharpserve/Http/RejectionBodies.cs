using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Sharpserve.Http;

/// <summary>
/// Gives the answers Kestrel writes by itself, for requests it refuses before the application sees them
/// (malformed request line or headers: 400; request line too long: 414; headers too large: 431; and 408, 411,
/// 413, 505), the same JSON error body as every other error. Kestrel offers no hook for these: it writes a head
/// with <c>Content-Length: 0</c> and no <c>Content-Type</c>, then closes the connection. This connection
/// middleware watches the response heads it writes to the socket and replaces exactly those with a head and a
/// JSON body. The application always sets a Content-Type on its 4xx answers, so they pass untouched; the check
/// costs a 10-byte compare per write, and more only for 4xx/505 heads.
/// </summary>
internal sealed class RejectionBodies
{
    private static readonly byte[] s_statusPrefix = "HTTP/1.1 "u8.ToArray();
    private readonly Dictionary<int, byte[]> _bodies;
    private readonly Action<int, ConnectionContext>? _onRejected;

    public RejectionBodies(KestrelServerLimits limits, Action<int, ConnectionContext>? onRejected = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _onRejected = onRejected;
        _bodies = new Dictionary<int, byte[]>
        {
            [400] = Body("bad request: the request line, a header or the body's framing is malformed"),
            [408] = Body("the request headers or body did not arrive in time"),
            [411] = Body("this request needs a Content-Length or chunked Transfer-Encoding"),
            [413] = Body("the request body is larger than the server accepts (--max-body-size)"),
            [414] = Body($"the request line (method, path and query) is longer than the limit of {limits.MaxRequestLineSize} bytes"),
            [431] = Body($"the request headers are larger than the limit of {limits.MaxRequestHeadersTotalSize} bytes, or more than {limits.MaxRequestHeaderCount} headers"),
            [505] = Body("this HTTP version is not supported; use HTTP/1.1"),
        };
    }

    /// <summary>Adds this to a Kestrel listener.</summary>
    public void Use(ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next => connection =>
        {
            connection.Transport = new Transport(connection.Transport, new Writer(this, connection, connection.Transport.Output));
            return next(connection);
        });
    }

    private static byte[] Body(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            json.WriteStartObject();
            json.WriteString("error"u8, message);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A head Kestrel wrote for a refused request, rewritten with a JSON body; null for anything else (the
    /// application's own answers, which all carry a Content-Type, and every other write).
    /// </summary>
    internal byte[]? TryRewrite(ReadOnlySpan<byte> written, out int status)
    {
        status = 0;
        if (written.Length < 16 || !written.StartsWith(s_statusPrefix) ||
            !Utf8Parser.TryParse(written.Slice(9, 3), out status, out int consumed) || consumed != 3 ||
            !_bodies.TryGetValue(status, out byte[]? body))
        {
            return null;
        }

        int end = written.IndexOf("\r\n\r\n"u8);
        if (end < 0 || end + 4 != written.Length)
        {
            return null; // a head followed by a body, or a partial write: not Kestrel's own refusal
        }

        ReadOnlySpan<byte> head = written[..(end + 2)];
        if (head.IndexOf("\r\nContent-Type:"u8) >= 0 || head.IndexOf("\r\nContent-Length: 0\r\n"u8) < 0)
        {
            return null;
        }

        var output = new ArrayBufferWriter<byte>(written.Length + body.Length + 64);
        int line = head.IndexOf("\r\n"u8);
        output.Write(head[..(line + 2)]);
        output.Write("Content-Type: application/json\r\n"u8);
        output.Write(Encoding.ASCII.GetBytes($"Content-Length: {body.Length}\r\n"));
        for (ReadOnlySpan<byte> rest = head[(line + 2)..]; rest.Length > 0;)
        {
            int next = rest.IndexOf("\r\n"u8) + 2;
            ReadOnlySpan<byte> header = rest[..next];
            if (!header.StartsWith("Content-Length:"u8))
            {
                output.Write(header);
            }

            rest = rest[next..];
        }

        output.Write("\r\n"u8);
        output.Write(body);
        return output.WrittenSpan.ToArray();
    }

    private sealed class Transport(IDuplexPipe inner, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => inner.Input;

        public PipeWriter Output => output;
    }

    /// <summary>Passes every call through; on Advance, a refused request's head is swapped for its JSON answer.</summary>
    private sealed class Writer(RejectionBodies owner, ConnectionContext connection, PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _memory;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _memory = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_memory = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            ReadOnlySpan<byte> written = _memory.Span[..bytes];
            if (written.Length > 9 && written[9] is (byte)'4' or (byte)'5' &&
                owner.TryRewrite(written, out int status) is { } replacement)
            {
                // Nothing of the refused head was committed: write the replacement in its place.
                inner.Write(replacement);
                owner._onRejected?.Invoke(status, connection);
                return;
            }

            inner.Advance(bytes);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) => inner.FlushAsync(cancellationToken);
    }
}
