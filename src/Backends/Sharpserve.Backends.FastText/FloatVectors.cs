using System.Numerics;
using System.Runtime.InteropServices;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Element-wise float operations with <see cref="Vector{T}"/>. Each element sees the same single float
/// operation as fastText's scalar loop, so the results are bit-identical; only independent elements run in
/// parallel. Loads are unaligned (mapped rows are not 4-byte aligned).
/// </summary>
internal static class FloatVectors
{
    /// <summary><c>destination[i] += source[i]</c>.</summary>
    public static void Add(Span<float> destination, ReadOnlySpan<float> source)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException("spans differ in length", nameof(source));
        }

        int i = 0;
        if (Vector.IsHardwareAccelerated && destination.Length >= Vector<float>.Count)
        {
            ref float d = ref MemoryMarshal.GetReference(destination);
            ref float s = ref MemoryMarshal.GetReference(source);
            int last = destination.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                (Vector.LoadUnsafe(ref d, (nuint)i) + Vector.LoadUnsafe(ref s, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < destination.Length; i++)
        {
            destination[i] += source[i];
        }
    }

    /// <summary><c>destination[i] *= factor</c>.</summary>
    public static void Multiply(Span<float> destination, float factor)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && destination.Length >= Vector<float>.Count)
        {
            ref float d = ref MemoryMarshal.GetReference(destination);
            int last = destination.Length - Vector<float>.Count;
            for (; i <= last; i += Vector<float>.Count)
            {
                (Vector.LoadUnsafe(ref d, (nuint)i) * factor).StoreUnsafe(ref d, (nuint)i);
            }
        }

        for (; i < destination.Length; i++)
        {
            destination[i] *= factor;
        }
    }
}
