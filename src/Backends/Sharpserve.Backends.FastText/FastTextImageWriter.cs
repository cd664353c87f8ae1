using System.Runtime.CompilerServices;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Writes a parsed <c>.bin</c> as a fastText image (<see cref="FastTextImageLayout"/>): it copies the matrices
/// through in chunks and precomputes the dictionary's hash table and the hierarchical-softmax tree, so opening
/// the image later reads them in place instead of rebuilding them.
/// </summary>
internal static class FastTextImageWriter
{
    // Large enough that the per-chunk overhead vanishes next to the copy, small enough to stay in cache.
    private const int CopyChunkBytes = 4 << 20;

    public static void Write(FastTextSourceFile source, ModelImageWriter writer)
    {
        FastTextArgs args = source.Args;
        var header = new FastTextImageArgs
        {
            Version = args.Version,
            Dim = args.Dim,
            WindowSize = args.WindowSize,
            Epoch = args.Epoch,
            MinCount = args.MinCount,
            Neg = args.Neg,
            WordNgrams = args.WordNgrams,
            Loss = (int)args.Loss,
            Model = args.Model,
            Bucket = args.Bucket,
            MinN = args.MinN,
            MaxN = args.MaxN,
            LrUpdateRate = args.LrUpdateRate,
            EntryCount = source.EntryCount,
            WordCount = source.WordCount,
            LabelCount = source.LabelCount,
            SamplingThreshold = args.SamplingThreshold,
            TokenCount = source.TokenCount,
        };
        int stringBytes = DictionaryStringBytes(source);
        long inputBytes = (long)source.InputRows * args.Dim * sizeof(float);
        long outputBytes = (long)source.OutputRows * args.Dim * sizeof(float);

        // Every section's length is known before the first is written, so progress reports carry the image's length.
        long argsBytes = Unsafe.SizeOf<FastTextImageArgs>();
        long entriesBytes = (long)source.EntryCount * Unsafe.SizeOf<FastTextImageEntry>();
        long tableBytes = (long)FastTextImageLayout.TableSlots(source.EntryCount) * sizeof(int);
        writer.ExpectSections(source.Tree is { } planned
            ? [argsBytes, entriesBytes, stringBytes, tableBytes, 2L * planned.Left.Length * sizeof(int), inputBytes, outputBytes]
            : [argsBytes, entriesBytes, stringBytes, tableBytes, inputBytes, outputBytes]);

        writer.WriteSection(FastTextImageLayout.Args, new ReadOnlySpan<FastTextImageArgs>(in header), ModelImageSectionFlags.VerifyOnOpen);

        WriteDictionary(source, writer, stringBytes);

        if (source.Tree is { } tree)
        {
            var nodes = new int[2 * tree.Left.Length];
            for (int i = 0; i < tree.Left.Length; i++)
            {
                nodes[2 * i] = tree.Left[i];
                nodes[(2 * i) + 1] = tree.Right[i];
            }

            writer.WriteSection<int>(FastTextImageLayout.Tree, nodes, ModelImageSectionFlags.VerifyOnOpen);
        }

        CopyMatrix(writer, FastTextImageLayout.Input, inputBytes, source.GetInputBytes);
        CopyMatrix(writer, FastTextImageLayout.Output, outputBytes, source.GetOutputBytes);
    }

    // The bytes of all dictionary entries, which the strings section holds back to back.
    private static int DictionaryStringBytes(FastTextSourceFile source)
    {
        long totalBytes = 0;
        for (int id = 0; id < source.EntryCount; id++)
        {
            totalBytes += source.GetEntryLength(id);
        }

        if (totalBytes > Array.MaxLength)
        {
            throw new ModelLoadException(
                $"{source.FileName}: the dictionary's entries total {totalBytes} bytes; a fastText image holds at most {Array.MaxLength}");
        }

        return (int)totalBytes;
    }

    private static void WriteDictionary(FastTextSourceFile source, ModelImageWriter writer, int stringBytes)
    {
        int size = source.EntryCount;

        // Prepare-time buffers: the running server reads all of this in place from the image.
        var entries = new FastTextImageEntry[size];
        var strings = new byte[stringBytes];
        int offset = 0;
        for (int id = 0; id < size; id++)
        {
            ReadOnlySpan<byte> bytes = source.GetEntry(id);
            bytes.CopyTo(strings.AsSpan(offset));
            entries[id] = new FastTextImageEntry(offset, bytes.Length, FastTextHash.Hash(bytes));
            offset += bytes.Length;
        }

        var table = new int[FastTextImageLayout.TableSlots(size)];
        Array.Fill(table, -1);
        for (int id = 0; id < size; id++)
        {
            FastTextImageEntry entry = entries[id];
            int slot = FastTextDictionary.FindSlot(table, entries, strings, strings.AsSpan(entry.Offset, entry.Length), entry.Hash);

            // A duplicated word maps to its last entry, as fastText's load loop overwrites the slot.
            table[slot] = id;
        }

        writer.WriteSection<FastTextImageEntry>(FastTextImageLayout.Entries, entries, ModelImageSectionFlags.VerifyOnOpen);
        writer.WriteSection<byte>(FastTextImageLayout.Strings, strings, ModelImageSectionFlags.VerifyOnOpen);
        writer.WriteSection<int>(FastTextImageLayout.Table, table, ModelImageSectionFlags.VerifyOnOpen);
    }

    private static void CopyMatrix(ModelImageWriter writer, string name, long length, MatrixReader read)
    {
        writer.BeginSection(name, sizeof(float));
        for (long done = 0; done < length;)
        {
            ReadOnlySpan<byte> chunk = read(done, CopyChunkBytes);
            writer.Write(chunk);
            done += chunk.Length;
        }

        writer.EndSection();
    }

    private delegate ReadOnlySpan<byte> MatrixReader(long start, int maxCount);
}
