using System.Numerics;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// The dictionary of a mapped model: where each entry's bytes are in the file, plus an exact-match lookup table.
/// Entries 0..nwords-1 are words and nwords..size-1 are labels (the loader enforces this file order). Lookups
/// compare token bytes against the mapping, so they create no strings.
/// </summary>
internal sealed class FastTextDictionary
{
    private readonly FastTextMappedFile _file;
    private readonly long[] _offsets;
    private readonly int[] _lengths;
    private readonly uint[] _hashes;

    // Open addressing over entry ids (-1 = empty), power-of-two sized, load factor <= 2/3, linear probing.
    private readonly int[] _table;
    private readonly int _mask;

    public FastTextDictionary(FastTextMappedFile file, long[] offsets, int[] lengths, int wordCount, long[] labelCounts)
    {
        _file = file;
        _offsets = offsets;
        _lengths = lengths;
        WordCount = wordCount;
        LabelCounts = labelCounts;

        int size = offsets.Length;
        _hashes = new uint[size];
        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, size + (size / 2) + 1));
        _table = new int[capacity];
        _mask = capacity - 1;
        Array.Fill(_table, -1);
        for (int id = 0; id < size; id++)
        {
            ReadOnlySpan<byte> word = GetEntry(id);
            uint hash = FastTextHash.Hash(word);
            _hashes[id] = hash;
            int slot = Find(word, hash);
            // A duplicated word maps to its last entry, as fastText's load loop overwrites the slot.
            _table[slot] = id;
        }
    }

    public int Size => _offsets.Length;

    public int WordCount { get; }

    public int LabelCount => _offsets.Length - WordCount;

    /// <summary>The stored count of each label, in label order (the input of the Huffman tree).</summary>
    public long[] LabelCounts { get; }

    /// <summary>The bytes of entry <paramref name="id"/>, read from the mapping.</summary>
    public ReadOnlySpan<byte> GetEntry(int id) => _file.GetBytes(_offsets[id], _lengths[id]);

    /// <summary>The entry id whose bytes equal <paramref name="token"/>, or -1.</summary>
    /// <param name="token">The token bytes.</param>
    /// <param name="hash"><see cref="FastTextHash.Hash"/> of the token.</param>
    public int Lookup(ReadOnlySpan<byte> token, uint hash) => _table[Find(token, hash)];

    private int Find(ReadOnlySpan<byte> token, uint hash)
    {
        int slot = (int)(hash & (uint)_mask);
        while (true)
        {
            int id = _table[slot];
            if (id < 0 || (_hashes[id] == hash && _lengths[id] == token.Length && GetEntry(id).SequenceEqual(token)))
            {
                return slot;
            }

            slot = (slot + 1) & _mask;
        }
    }
}
