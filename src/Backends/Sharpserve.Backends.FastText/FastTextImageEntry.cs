using System.Runtime.InteropServices;

namespace Sharpserve.Backends.FastText;

/// <summary>A <c>fasttext.entries</c> element: where the entry's bytes are in <c>fasttext.strings</c>, and their hash.</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct FastTextImageEntry(int Offset, int Length, uint Hash);
