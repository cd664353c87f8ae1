using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Sharpserve.Http;

/// <summary>
/// Reads a whole request body into a pooled buffer, refusing one over the limit (--max-body-size, 413) before it is
/// buffered. With a Content-Length, Kestrel checks the limit; a chunked body is counted here instead, because
/// Kestrel's count includes the chunked framing (a 50,000-byte body in 10-byte chunks is ~75,000 bytes on the wire).
/// </summary>
internal sealed class RequestBody : IDisposable
{
    private byte[] _buffer;

    private RequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    public ReadOnlySpan<byte> Span => _buffer.AsSpan(0, Length);

    public static async Task<RequestBody> ReadAsync(HttpContext context)
    {
        PipeReader reader = context.Request.BodyReader;
        long? declared = context.Request.ContentLength;
        long limit = long.MaxValue;
        if (declared is null &&
            context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false, MaxRequestBodySize: long max } sizeLimit)
        {
            limit = max;
            sizeLimit.MaxRequestBodySize = null;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(declared is > 0 and < int.MaxValue ? (int)declared.Value : 4096);
        int length = 0;
        try
        {
            while (true)
            {
                ReadResult result = await reader.ReadAsync(context.RequestAborted);
                ReadOnlySequence<byte> sequence = result.Buffer;
                if (length + sequence.Length > limit)
                {
                    // The rest is not read: the 413 closes the connection (Connection: close) instead of draining it.
                    reader.AdvanceTo(sequence.Start, sequence.End);
                    throw new BadHttpRequestException("the request body is over the limit", StatusCodes.Status413PayloadTooLarge);
                }

                if (sequence.Length > buffer.Length - length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(checked((int)Math.Max(buffer.Length * 2L, length + sequence.Length)));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                sequence.CopyTo(buffer.AsSpan(length));
                length += (int)sequence.Length;
                reader.AdvanceTo(sequence.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        return new RequestBody(buffer, length);
    }

    public void Dispose()
    {
        byte[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
