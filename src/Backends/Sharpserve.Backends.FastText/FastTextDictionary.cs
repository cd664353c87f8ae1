using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// The dictionary of a model, used in place in its image: entries (offset, length, hash), their bytes, and an
/// open-addressing hash table precomputed at prepare time. Entries 0..nwords-1 are words and nwords..size-1 are
/// labels. Lookups compare token bytes against the image, so they create no strings and nothing is rebuilt
/// on the managed heap when a process opens the model.
/// </summary>
internal sealed class FastTextDictionary
{
    private readonly ModelImage _image;
    private readonly ModelImageSection _entries;
    private readonly ModelImageSection _strings;
    private readonly ModelImageSection _table;

    /// <summary>Sections that <see cref="FastTextModel"/> has checked: every entry inside the strings, every slot -1 or an id.</summary>
    public FastTextDictionary(ModelImage image, ModelImageSection entries, ModelImageSection strings, ModelImageSection table, int wordCount)
    {
        _image = image;
        _entries = entries;
        _strings = strings;
        _table = table;
        Size = (int)entries.ElementCount;
        WordCount = wordCount;
    }

    public int Size { get; }

    public int WordCount { get; }

    public int LabelCount => Size - WordCount;

    /// <summary>The bytes of entry <paramref name="id"/>, read from the image.</summary>
    public ReadOnlySpan<byte> GetEntry(int id)
    {
        FastTextImageEntry entry = _image.GetSpan<FastTextImageEntry>(_entries)[id];
        return _image.GetSpan<byte>(_strings).Slice(entry.Offset, entry.Length);
    }

    /// <summary>The entry id whose bytes equal <paramref name="token"/>, or -1.</summary>
    /// <param name="token">The token bytes.</param>
    /// <param name="hash"><see cref="FastTextHash.Hash"/> of the token.</param>
    public int Lookup(ReadOnlySpan<byte> token, uint hash)
    {
        ReadOnlySpan<int> table = _image.GetSpan<int>(_table);
        return table[FindSlot(table, _image.GetSpan<FastTextImageEntry>(_entries), _image.GetSpan<byte>(_strings), token, hash)];
    }

    /// <summary>
    /// The slot holding <paramref name="token"/>, or the empty slot where it would go. Linear probing from
    /// <c>hash &amp; (slots - 1)</c>; the table always has an empty slot, so the probe ends. Shared by the image
    /// writer, which builds the table with it, and by lookups.
    /// </summary>
    public static int FindSlot(
        ReadOnlySpan<int> table, ReadOnlySpan<FastTextImageEntry> entries, ReadOnlySpan<byte> strings, ReadOnlySpan<byte> token, uint hash)
    {
        int mask = table.Length - 1;
        int slot = (int)(hash & (uint)mask);
        while (true)
        {
            int id = table[slot];
            if (id < 0)
            {
                return slot;
            }

            FastTextImageEntry entry = entries[id];
            if (entry.Hash == hash && entry.Length == token.Length && strings.Slice(entry.Offset, entry.Length).SequenceEqual(token))
            {
                return slot;
            }

            slot = (slot + 1) & mask;
        }
    }
}
