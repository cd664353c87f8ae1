namespace Sharpserve.Backends.FastText;

/// <summary>
/// fastText's string hash (src/dictionary.cc <c>Dictionary::hash</c>): 32-bit FNV-1a where every byte is first
/// cast to a signed char and sign-extended, so bytes >= 0x80 xor in as <c>0xFFFFFF00 | b</c>.
/// </summary>
internal static class FastTextHash
{
    public const uint OffsetBasis = 2166136261;

    private const uint Prime = 16777619;

    public static uint Hash(ReadOnlySpan<byte> bytes) => Append(OffsetBasis, bytes);

    /// <summary>Continues a hash over more bytes: <c>Append(Hash(a), b) == Hash(a + b)</c>.</summary>
    public static uint Append(uint hash, ReadOnlySpan<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            hash = Step(hash, bytes[i]);
        }

        return hash;
    }

    public static uint Step(uint hash, byte value) => unchecked((hash ^ (uint)(sbyte)value) * Prime);
}
