namespace Sharpserve.Http;

/// <summary>
/// The bytes of an infer request body after its JSON (binary tensor data extension, docs/binary-tensor-extension.md),
/// handed out to the inputs that declare a <c>binary_data_size</c>, in the order the JSON lists them. Each size is
/// checked against what is left before any slice is taken, so a declared size never leads to an allocation.
/// </summary>
internal ref struct OipBinarySection
{
    private readonly ReadOnlySpan<byte> _data;
    private int _taken;

    /// <param name="data">The body after the JSON (empty without the header).</param>
    /// <param name="headerGiven">Whether the request had an Inference-Header-Content-Length header (for error messages).</param>
    public OipBinarySection(ReadOnlySpan<byte> data, bool headerGiven)
    {
        _data = data;
        HeaderGiven = headerGiven;
    }

    public bool HeaderGiven { get; }

    public readonly int Length => _data.Length;

    public readonly int Taken => _taken;

    public readonly int Remaining => _data.Length - _taken;

    /// <summary>The next <paramref name="size"/> bytes, or false (and nothing taken) when fewer remain.</summary>
    public bool TryTake(long size, out ReadOnlySpan<byte> blob)
    {
        if (size < 0 || size > Remaining)
        {
            blob = default;
            return false;
        }

        blob = _data.Slice(_taken, (int)size);
        _taken += (int)size;
        return true;
    }
}
