namespace Sharpserve.Backends.FastText;

/// <summary>
/// A user's fastText <c>.bin</c>, mapped and validated, read only while its image is written: where each
/// dictionary entry and each matrix is in the file. Nothing here is used to serve; the image is.
/// </summary>
internal sealed partial class FastTextSourceFile : IDisposable
{
    private readonly long[] _entryOffsets;
    private readonly int[] _entryLengths;
    private readonly long _inputOffset;
    private readonly long _outputOffset;

    private FastTextSourceFile(
        string fileName,
        FastTextMappedFile file,
        FastTextArgs args,
        long[] entryOffsets,
        int[] entryLengths,
        int wordCount,
        long[] labelCounts,
        long tokenCount,
        long inputOffset,
        int inputRows,
        long outputOffset,
        int outputRows,
        FastTextHuffmanTree? tree)
    {
        FileName = fileName;
        File = file;
        Args = args;
        _entryOffsets = entryOffsets;
        _entryLengths = entryLengths;
        WordCount = wordCount;
        LabelCounts = labelCounts;
        TokenCount = tokenCount;
        _inputOffset = inputOffset;
        InputRows = inputRows;
        _outputOffset = outputOffset;
        OutputRows = outputRows;
        Tree = tree;
    }

    public string FileName { get; }

    public FastTextMappedFile File { get; }

    public FastTextArgs Args { get; }

    public int EntryCount => _entryOffsets.Length;

    public int WordCount { get; }

    public int LabelCount => LabelCounts.Length;

    /// <summary>The stored count of each label, in label order (the input of the Huffman tree).</summary>
    public long[] LabelCounts { get; }

    public long TokenCount { get; }

    public int InputRows { get; }

    public int OutputRows { get; }

    /// <summary>The hierarchical-softmax tree, or null for the other losses.</summary>
    public FastTextHuffmanTree? Tree { get; }

    /// <summary>The bytes of dictionary entry <paramref name="id"/> (without the NUL).</summary>
    public ReadOnlySpan<byte> GetEntry(int id) => File.GetBytes(_entryOffsets[id], _entryLengths[id]);

    public int GetEntryLength(int id) => _entryLengths[id];

    /// <summary>The input matrix's bytes from byte <paramref name="start"/> of its data, up to <paramref name="maxCount"/>.</summary>
    public ReadOnlySpan<byte> GetInputBytes(long start, int maxCount) => GetMatrixBytes(_inputOffset, InputRows, start, maxCount);

    public ReadOnlySpan<byte> GetOutputBytes(long start, int maxCount) => GetMatrixBytes(_outputOffset, OutputRows, start, maxCount);

    public void Dispose() => File.Dispose();

    private ReadOnlySpan<byte> GetMatrixBytes(long offset, int rows, long start, int maxCount)
    {
        long total = (long)rows * Args.Dim * sizeof(float);
        int count = (int)Math.Min(maxCount, total - start);
        return File.GetBytes(offset + start, count);
    }
}
