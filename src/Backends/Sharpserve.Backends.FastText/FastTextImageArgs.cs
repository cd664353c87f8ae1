using System.Runtime.InteropServices;

namespace Sharpserve.Backends.FastText;

/// <summary>The <c>fasttext.args</c> section: the stored training arguments and the dictionary counts.</summary>
[StructLayout(LayoutKind.Explicit, Size = 80)]
internal struct FastTextImageArgs
{
    [FieldOffset(0)] public int Version;
    [FieldOffset(4)] public int Dim;
    [FieldOffset(8)] public int WindowSize;
    [FieldOffset(12)] public int Epoch;
    [FieldOffset(16)] public int MinCount;
    [FieldOffset(20)] public int Neg;
    [FieldOffset(24)] public int WordNgrams;
    [FieldOffset(28)] public int Loss;
    [FieldOffset(32)] public int Model;
    [FieldOffset(36)] public int Bucket;
    [FieldOffset(40)] public int MinN;
    [FieldOffset(44)] public int MaxN;
    [FieldOffset(48)] public int LrUpdateRate;
    [FieldOffset(52)] public int EntryCount;
    [FieldOffset(56)] public int WordCount;
    [FieldOffset(60)] public int LabelCount;
    [FieldOffset(64)] public double SamplingThreshold;
    [FieldOffset(72)] public long TokenCount;
}
