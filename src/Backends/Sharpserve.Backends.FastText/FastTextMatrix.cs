using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>A dense row-major float32 matrix that stays in the model image; hands out one row at a time.</summary>
internal sealed class FastTextMatrix
{
    private readonly ModelImage _image;
    private readonly ModelImageSection _section;

    /// <summary>A section that <see cref="FastTextModel"/> has checked holds exactly rows x columns floats.</summary>
    public FastTextMatrix(ModelImage image, ModelImageSection section, int rows, int columns)
    {
        _image = image;
        _section = section;
        Rows = rows;
        Columns = columns;
    }

    public int Rows { get; }

    public int Columns { get; }

    public ReadOnlySpan<float> GetRow(int row)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)row, (uint)Rows, nameof(row));
        return _image.GetSpan<float>(_section, (long)row * Columns, Columns);
    }
}
