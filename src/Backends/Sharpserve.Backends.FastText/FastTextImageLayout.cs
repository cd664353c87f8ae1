namespace Sharpserve.Backends.FastText;

/// <summary>
/// The sections a fastText image holds (docs/formats/model-image.md, "fastText sections"). Everything the
/// predictor reads, laid out to be used in place: the arguments, the dictionary as entries + string bytes + an
/// open-addressing hash table, the hierarchical-softmax tree, and the two matrices (64-byte aligned floats).
/// </summary>
internal static class FastTextImageLayout
{
    /// <summary>Bump when a section below changes; older images are then stale and rebuilt.</summary>
    public const int FormatVersion = 1;

    /// <summary>One <see cref="FastTextImageArgs"/>.</summary>
    public const string Args = "fasttext.args";

    /// <summary><see cref="FastTextImageEntry"/> per dictionary entry: words (ids 0..nwords-1), then labels.</summary>
    public const string Entries = "fasttext.entries";

    /// <summary>The entries' bytes, back to back (no separators); entries point into it.</summary>
    public const string Strings = "fasttext.strings";

    /// <summary>
    /// int32 slots, a power of two (at least 16 and more than 1.5 x entries): the entry id or -1 (empty).
    /// The slot of a token is <c>hash &amp; (slots - 1)</c>, then linear probing; the hash is fastText's FNV-1a.
    /// </summary>
    public const string Table = "fasttext.table";

    /// <summary>
    /// Hierarchical softmax only: int32 (left, right) per node, 2 x nlabels - 1 nodes; leaves are labels
    /// 0..nlabels-1 with (-1, -1); internal node v uses output row v - nlabels; the root is the last node.
    /// </summary>
    public const string Tree = "fasttext.tree";

    /// <summary>float32, (nwords + bucket) x dim, row-major.</summary>
    public const string Input = "fasttext.input";

    /// <summary>float32, nlabels x dim, row-major.</summary>
    public const string Output = "fasttext.output";

    /// <summary>The table's size for <paramref name="entryCount"/> entries: load factor at most 2/3.</summary>
    public static int TableSlots(int entryCount) =>
        (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, entryCount + (entryCount / 2) + 1));
}
