using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// The one owner of a model's read-only file mapping. It checks every range against the file length and hands
/// out spans; the raw pointer never leaves this type. The float data of a fastText file follows variable-length
/// strings, so it is usually not 4-byte aligned: the float spans it returns are unaligned, which x64 and Arm64
/// loads (scalar and <see cref="System.Numerics.Vector{T}"/>) accept.
/// </summary>
internal sealed unsafe class FastTextMappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private byte* _base;

    private FastTextMappedFile(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* basePointer, long length)
    {
        _file = file;
        _view = view;
        _base = basePointer;
        Length = length;
    }

    /// <summary>Length of the file in bytes (all of it is mapped).</summary>
    public long Length { get; }

    /// <summary>Maps a whole non-empty file read-only. IO failures surface as the BCL's exceptions.</summary>
    public static FastTextMappedFile Open(FileStream stream)
    {
        long length = stream.Length;
        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(
                stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            return new FastTextMappedFile(file, view, pointer + view.PointerOffset, length);
        }
        catch
        {
            view?.Dispose();
            file?.Dispose();
            throw;
        }
    }

    /// <summary>Bytes [offset, offset + count); the caller has checked the range, this re-checks it.</summary>
    public ReadOnlySpan<byte> GetBytes(long offset, int count)
    {
        CheckRange(offset, count);
        return new ReadOnlySpan<byte>(_base + offset, count);
    }

    /// <summary>Up to <paramref name="maxCount"/> bytes from <paramref name="offset"/>, fewer at the end of the file.</summary>
    public ReadOnlySpan<byte> GetBytesUpTo(long offset, int maxCount)
    {
        long available = Length - offset;
        int count = available < maxCount ? (int)available : maxCount;
        return GetBytes(offset, count);
    }

    public void Dispose()
    {
        if (_base != null)
        {
            _base = null;
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
        }

        _view.Dispose();
        _file.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckRange(long offset, long count)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        if ((ulong)offset > (ulong)Length || (ulong)count > (ulong)(Length - offset))
        {
            ThrowOutOfRange(offset, count);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutOfRange(long offset, long count) =>
        throw new ArgumentOutOfRangeException(
            nameof(offset), $"range [{offset}, {offset} + {count}) is outside the mapped file of {Length} bytes");
}
