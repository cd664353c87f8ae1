using System.Buffers;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// fastText's <c>Dictionary::readWord</c> over a byte stream, buffered: tokens end at the seven separator bytes;
/// a newline read while no token is pending is the token <c>"&lt;/s&gt;"</c>; a newline that ends a token is
/// pushed back so the next token is <c>"&lt;/s&gt;"</c>; at the end of the stream the pending token is returned.
/// </summary>
internal sealed class FastTextTokenReader : IDisposable
{
    // Not tuned by a benchmark: large enough that Stream.Read calls are rare next to the per-byte work.
    private const int BufferSize = 64 * 1024;

    private readonly Stream _stream;
    private byte[] _buffer;
    private int _position;
    private int _length;
    private bool _endOfStream;
    private byte[] _token = new byte[256];

    public FastTextTokenReader(Stream stream)
    {
        _stream = stream;
        _buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
    }

    private static ReadOnlySpan<byte> EndOfSentence => "</s>"u8;

    /// <summary>fastText's <c>in.peek() != EOF</c>: whether another record starts.</summary>
    public bool HasMoreData() => _position < _length || Fill();

    /// <summary>Reads the next token; the span is valid until the next call.</summary>
    public bool TryReadToken(out ReadOnlySpan<byte> token)
    {
        int length = 0;
        while (_position < _length || Fill())
        {
            byte c = _buffer[_position++];
            if (FastTextPredictor.IsSeparator(c))
            {
                if (length == 0)
                {
                    if (c == (byte)'\n')
                    {
                        token = EndOfSentence;
                        return true;
                    }

                    continue;
                }

                if (c == (byte)'\n')
                {
                    // sungetc: the byte is still in the buffer, so stepping back is always possible.
                    _position--;
                }

                token = _token.AsSpan(0, length);
                return true;
            }

            if (length == _token.Length)
            {
                Array.Resize(ref _token, _token.Length * 2);
            }

            _token[length++] = c;
        }

        token = _token.AsSpan(0, length);
        return length > 0;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    private bool Fill()
    {
        if (_endOfStream)
        {
            return false;
        }

        _position = 0;
        _length = _stream.Read(_buffer, 0, _buffer.Length);
        if (_length == 0)
        {
            // Once at the end, stay there: fastText never reads past its eofbit.
            _endOfStream = true;
            return false;
        }

        return true;
    }
}
