namespace Sharpserve.Abstractions.Images;

/// <summary>
/// One entry of an image's section table, checked against the file when the image was opened. Pass it to
/// <see cref="ModelImage.GetSpan{T}(in ModelImageSection)"/> to read the bytes.
/// </summary>
public readonly record struct ModelImageSection(
    string Name,
    long Offset,
    long Length,
    int ElementSize,
    ModelImageSectionFlags Flags,
    ulong Checksum)
{
    /// <summary>Number of elements of <see cref="ElementSize"/> bytes.</summary>
    public long ElementCount => Length / ElementSize;
}
