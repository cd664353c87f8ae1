namespace Sharpserve.Backends.FastText;

/// <summary>A dense row-major float32 matrix that stays in the file mapping; hands out one row at a time.</summary>
internal sealed class FastTextMatrix
{
    private readonly FastTextMappedFile _file;
    private readonly long _offset;

    public FastTextMatrix(FastTextMappedFile file, long offset, int rows, int columns)
    {
        _file = file;
        _offset = offset;
        Rows = rows;
        Columns = columns;
    }

    public int Rows { get; }

    public int Columns { get; }

    public ReadOnlySpan<float> GetRow(int row)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        return _file.GetFloats(_offset + ((long)row * Columns * sizeof(float)), Columns);
    }
}
