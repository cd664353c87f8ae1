using System.IO.Hashing;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sharpserve.Abstractions.Images;

/// <summary>
/// An opened model image: a read-only file mapping (or, for images built in memory, an aligned native buffer)
/// whose header, section table and section bounds were checked when it was opened. The one owner of the
/// pointer: it hands out <see cref="ReadOnlySpan{T}"/>s over sections, range-checked, and never the pointer.
/// Thread-safe for reads; nothing may read it during or after <see cref="Dispose"/>.
/// </summary>
public sealed unsafe partial class ModelImage : IDisposable
{
    private readonly MemoryMappedFile? _file;
    private readonly MemoryMappedViewAccessor? _view;
    private readonly ModelImageSection[] _sections;
    private byte* _base;

    private ModelImage(
        string name,
        string? path,
        MemoryMappedFile? file,
        MemoryMappedViewAccessor? view,
        byte* basePointer,
        long length,
        ModelImageSection[] sections,
        in ModelImageHeader header)
    {
        Name = name;
        Path = path;
        _file = file;
        _view = view;
        _base = basePointer;
        Length = length;
        _sections = sections;
        BackendName = header.BackendName;
        BackendFormatVersion = header.BackendFormatVersion;
        Source = header.Source;
        CreatedTimeNs = header.CreatedTimeNs;
    }

    /// <summary>The file name used in every message about this image.</summary>
    public string Name { get; }

    /// <summary>The mapped file, or null for an image held in memory.</summary>
    public string? Path { get; }

    /// <summary>True when the bytes are a shared read-only file mapping (the page cache's one copy).</summary>
    public bool IsMapped => _file is not null;

    public long Length { get; }

    /// <summary>The backend that wrote the sections, e.g. "fasttext".</summary>
    public string BackendName { get; }

    /// <summary>The backend's own layout version; the backend refuses versions it does not read.</summary>
    public int BackendFormatVersion { get; }

    /// <summary>What the image was built from.</summary>
    public ModelImageSource Source { get; }

    /// <summary>When the image was written, in nanoseconds since the Unix epoch (informative).</summary>
    public long CreatedTimeNs { get; }

    public IReadOnlyList<ModelImageSection> Sections => _sections;

    public bool TryGetSection(string name, out ModelImageSection section)
    {
        foreach (ModelImageSection candidate in _sections)
        {
            if (string.Equals(candidate.Name, name, StringComparison.Ordinal))
            {
                section = candidate;
                return true;
            }
        }

        section = default;
        return false;
    }

    /// <summary>The section named <paramref name="name"/> whose elements are <typeparamref name="T"/>; a clear error otherwise.</summary>
    /// <exception cref="ModelLoadException">The section is missing or has another element size.</exception>
    public ModelImageSection GetSection<T>(string name)
        where T : unmanaged
    {
        if (!TryGetSection(name, out ModelImageSection section))
        {
            throw Invalid($"section '{name}' is missing");
        }

        if (section.ElementSize != sizeof(T))
        {
            throw Invalid($"section '{name}' has {section.ElementSize}-byte elements; expected {sizeof(T)}");
        }

        return section;
    }

    /// <summary>All elements of a section (at most <see cref="int.MaxValue"/>; use the slice overload past that).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<T> GetSpan<T>(scoped in ModelImageSection section)
        where T : unmanaged
    {
        CheckSection<T>(section);
        long count = section.Length / sizeof(T);
        if (count > int.MaxValue)
        {
            ThrowTooLong(section);
        }

        return new ReadOnlySpan<T>(_base + section.Offset, (int)count);
    }

    /// <summary>Elements [<paramref name="start"/>, <paramref name="start"/> + <paramref name="count"/>) of a section.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<T> GetSpan<T>(scoped in ModelImageSection section, long start, int count)
        where T : unmanaged
    {
        CheckSection<T>(section);
        long elements = section.Length / sizeof(T);
        if ((ulong)start > (ulong)elements || (ulong)count > (ulong)(elements - start))
        {
            ThrowOutOfRange(section, start, count);
        }

        return new ReadOnlySpan<T>(_base + section.Offset + (start * sizeof(T)), count);
    }

    /// <summary>
    /// Verifies every section's checksum, including the bulk ones that opening skips (this touches every page).
    /// </summary>
    /// <exception cref="ModelLoadException">A checksum does not match.</exception>
    public void VerifyAllChecksums()
    {
        foreach (ModelImageSection section in _sections)
        {
            VerifyChecksum(section);
        }
    }

    /// <summary>An exception whose message names this image: "NAME: problem".</summary>
    public ModelLoadException Invalid(string problem) => new($"{Name}: {problem}");

    /// <summary>Unmaps the image (or frees its memory). No read may run during or after this call.</summary>
    public void Dispose()
    {
        if (_base == null)
        {
            return;
        }

        byte* pointer = _base;
        _base = null;
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file!.Dispose();
        }
        else
        {
            NativeMemory.AlignedFree(pointer);
        }
    }

    private void VerifyChecksum(in ModelImageSection section)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        var hash = new XxHash3();
        const int Chunk = 1 << 30;
        for (long done = 0; done < section.Length; done += Chunk)
        {
            int count = (int)Math.Min(Chunk, section.Length - done);
            hash.Append(new ReadOnlySpan<byte>(_base + section.Offset + done, count));
        }

        ulong actual = hash.GetCurrentHashAsUInt64();
        if (actual != section.Checksum)
        {
            throw Invalid($"section '{section.Name}' is corrupt: checksum 0x{actual:x16}, the table records 0x{section.Checksum:x16}");
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void CheckSection<T>(in ModelImageSection section)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_base == null, this);

        // The bounds were checked at open; this keeps a section of another image from reading past this one.
        if (section.ElementSize != sizeof(T) || (ulong)section.Offset > (ulong)Length || (ulong)section.Length > (ulong)(Length - section.Offset))
        {
            ThrowBadSection<T>(section);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBadSection<T>(in ModelImageSection section)
        where T : unmanaged =>
        throw new ArgumentException(
            $"{Name}: section '{section.Name}' ({section.ElementSize}-byte elements, [{section.Offset}, +{section.Length})) cannot be read as {typeof(T).Name} from this image of {Length} bytes",
            nameof(section));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowTooLong(in ModelImageSection section) =>
        throw new ArgumentException($"{Name}: section '{section.Name}' has more than {int.MaxValue} elements; read it in slices", nameof(section));

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowOutOfRange(in ModelImageSection section, long start, int count) =>
        throw new ArgumentOutOfRangeException(
            nameof(start), $"{Name}: elements [{start}, {start} + {count}) are outside section '{section.Name}' of {section.ElementCount} elements");
}
