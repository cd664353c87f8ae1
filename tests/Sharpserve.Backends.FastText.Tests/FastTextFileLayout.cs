using System.Buffers.Binary;

namespace Sharpserve.Backends.FastText.Tests;

/// <summary>
/// Byte offsets of the fields of an unpruned fastText .bin, found by an independent walk of the file, so the
/// corruption tests can patch exact fields.
/// </summary>
internal sealed class FastTextFileLayout
{
    public const int Magic = 0;
    public const int Version = 4;
    public const int Dim = 8;
    public const int Loss = 32;
    public const int Model = 36;
    public const int Bucket = 40;
    public const int Size = 64;
    public const int NWords = 68;
    public const int NLabels = 72;
    public const int NTokens = 76;
    public const int PruneIndexSize = 84;
    public const int FirstEntry = 92;

    private FastTextFileLayout()
    {
    }

    public int EntryCount { get; private init; }

    public int WordCount { get; private init; }

    /// <summary>Offset of each entry's type byte.</summary>
    public long[] EntryTypeOffsets { get; private init; } = [];

    /// <summary>Offset of each entry's int64 count.</summary>
    public long[] EntryCountOffsets { get; private init; } = [];

    public long QuantInput { get; private init; }

    public long InputRows => QuantInput + 1;

    public long InputColumns => QuantInput + 9;

    public long InputData => QuantInput + 17;

    public long QuantOutput { get; private init; }

    public long OutputRows => QuantOutput + 1;

    public long OutputColumns => QuantOutput + 9;

    public long End { get; private init; }

    public static FastTextFileLayout Read(byte[] file)
    {
        int size = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(Size));
        int nwords = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(NWords));
        long position = FirstEntry;
        var types = new long[size];
        var counts = new long[size];
        for (int i = 0; i < size; i++)
        {
            position += Array.IndexOf(file, (byte)0, (int)position) - position + 1;
            counts[i] = position;
            types[i] = position + 8;
            position += 9;
        }

        long quantInput = position;
        long inputRows = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)quantInput + 1));
        long inputColumns = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)quantInput + 9));
        long quantOutput = quantInput + 17 + (inputRows * inputColumns * 4);
        long outputRows = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)quantOutput + 1));
        long outputColumns = BinaryPrimitives.ReadInt64LittleEndian(file.AsSpan((int)quantOutput + 9));
        return new FastTextFileLayout
        {
            EntryCount = size,
            WordCount = nwords,
            EntryTypeOffsets = types,
            EntryCountOffsets = counts,
            QuantInput = quantInput,
            QuantOutput = quantOutput,
            End = quantOutput + 17 + (outputRows * outputColumns * 4),
        };
    }
}
