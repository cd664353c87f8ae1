using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace Sharpserve.Abstractions.Images;

/// <summary>
/// Writes a model image into a seekable stream, one section at a time: <see cref="BeginSection"/>, any number of
/// <see cref="Write(ReadOnlySpan{byte})"/>, <see cref="EndSection"/>; then <see cref="Complete"/> writes the section
/// table and the header. Sections are streamed (a multi-GB matrix is copied through, never held), padded to 64
/// bytes and checksummed (XXH3) on the way. The writer does not own the stream; a cache writes into a temp file
/// and renames it only after <see cref="Complete"/>, so a half-written image is never visible.
/// </summary>
public sealed class ModelImageWriter
{
    /// <summary>The step named in this writer's <see cref="Progress"/> reports.</summary>
    public const string ProgressStep = "writing the model image";

    // A report per megabyte keeps a display current without costing anything next to the copy.
    private const long ProgressReportBytes = 1 << 20;

    private static readonly byte[] s_zeros = new byte[ModelImageFormat.HeaderSize];

    private readonly Stream _destination;
    private readonly string _backendName;
    private readonly int _backendFormatVersion;
    private readonly ModelImageSource _source;
    private readonly List<ModelImageSection> _sections = [];
    private readonly XxHash3 _checksum = new();
    private readonly long _start;
    private long _position;

    // The open section, if any.
    private string? _sectionName;
    private long _sectionOffset;
    private int _sectionElementSize;
    private ModelImageSectionFlags _sectionFlags;
    private bool _completed;
    private long? _expectedLength;
    private long _reportedPosition;

    /// <param name="destination">A writable, seekable stream positioned where the image starts (usually 0).</param>
    /// <param name="backendName">The backend whose sections follow, 1..16 ASCII characters, e.g. "fasttext".</param>
    /// <param name="backendFormatVersion">The backend's own layout version; bump it when its sections change.</param>
    /// <param name="source">What the image is built from (size, content hash, fingerprint).</param>
    public ModelImageWriter(Stream destination, string backendName, int backendFormatVersion, ModelImageSource source)
    {
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(backendName);
        if (!destination.CanWrite || !destination.CanSeek)
        {
            throw new ArgumentException("the destination must be writable and seekable", nameof(destination));
        }

        if (backendName.Length is 0 or > ModelImageFormat.MaxBackendNameLength || !Ascii.IsValid(backendName) || backendName.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"backend name '{backendName}' must be 1..{ModelImageFormat.MaxBackendNameLength} ASCII characters", nameof(backendName));
        }

        _destination = destination;
        _backendName = backendName;
        _backendFormatVersion = backendFormatVersion;
        _source = source;
        _start = destination.Position;

        // The header is written last, when the table's place and checksum are known.
        destination.Write(s_zeros);
        _position = ModelImageFormat.HeaderSize;
    }

    /// <summary>
    /// Receives the bytes written so far (step <see cref="ProgressStep"/>), about every megabyte and on
    /// <see cref="Complete"/>, with the image's final length once a backend has announced it
    /// (<see cref="ExpectSections"/>). Null (the default) reports nothing.
    /// </summary>
    public IProgress<ProgressReport>? Progress { get; init; }

    /// <summary>
    /// Announces the lengths in bytes of the sections still to be written, in order, so that progress reports carry
    /// the image's final length; without it they say the length is not known. It changes nothing in the image.
    /// </summary>
    public void ExpectSections(ReadOnlySpan<long> sectionLengths)
    {
        ThrowIfCompleted();
        if (_sectionName is not null)
        {
            throw new InvalidOperationException($"section '{_sectionName}' is still open");
        }

        // The layout Complete produces: each section at the next 64-byte boundary, then the table, aligned.
        long end = _position - _start;
        foreach (long length in sectionLengths)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(length, nameof(sectionLengths));
            end = ModelImageFormat.AlignUp(end) + length;
        }

        _expectedLength = ModelImageFormat.AlignUp(end) + ((long)(_sections.Count + sectionLengths.Length) * ModelImageFormat.SectionEntrySize);
    }

    /// <summary>Starts a section at the next 64-byte boundary.</summary>
    /// <param name="name">Unique within the image: 1..32 of a-z, 0-9, '.', '_', '-' (by convention "backend.part").</param>
    /// <param name="elementSize">Size of one element; the section's length must be a multiple of it.</param>
    /// <param name="flags">Whether readers verify the checksum on every open.</param>
    public void BeginSection(string name, int elementSize, ModelImageSectionFlags flags = ModelImageSectionFlags.None)
    {
        ArgumentNullException.ThrowIfNull(name);
        ThrowIfCompleted();
        if (_sectionName is not null)
        {
            throw new InvalidOperationException($"section '{_sectionName}' is still open");
        }

        if (!ModelImageFormat.IsValidSectionName(name))
        {
            throw new ArgumentException($"section name '{name}' must be 1..{ModelImageFormat.MaxSectionNameLength} of a-z, 0-9, '.', '_', '-'", nameof(name));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(elementSize, 1);
        foreach (ModelImageSection section in _sections)
        {
            if (section.Name == name)
            {
                throw new ArgumentException($"section '{name}' is already written", nameof(name));
            }
        }

        if (_sections.Count == ModelImageFormat.MaxSectionCount)
        {
            throw new InvalidOperationException($"an image holds at most {ModelImageFormat.MaxSectionCount} sections");
        }

        Pad();
        _sectionName = name;
        _sectionOffset = _position;
        _sectionElementSize = elementSize;
        _sectionFlags = flags;
        _checksum.Reset();
    }

    /// <summary>Appends bytes to the open section.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        if (_sectionName is null)
        {
            throw new InvalidOperationException("no section is open; call BeginSection first");
        }

        _destination.Write(data);
        _checksum.Append(data);
        _position += data.Length;
        if (Progress is not null && _position - _reportedPosition >= ProgressReportBytes)
        {
            ReportProgress();
        }
    }

    /// <summary>Appends elements (in this machine's byte order, which images require to be little-endian).</summary>
    public void Write<T>(ReadOnlySpan<T> data)
        where T : unmanaged => Write(MemoryMarshal.AsBytes(data));

    /// <summary>Closes the open section; its length must be a multiple of its element size.</summary>
    public ModelImageSection EndSection()
    {
        if (_sectionName is null)
        {
            throw new InvalidOperationException("no section is open");
        }

        long length = _position - _sectionOffset;
        if (length % _sectionElementSize != 0)
        {
            throw new InvalidOperationException(
                $"section '{_sectionName}' has {length} bytes, not a multiple of its {_sectionElementSize}-byte elements");
        }

        var section = new ModelImageSection(
            _sectionName, _sectionOffset - _start, length, _sectionElementSize, _sectionFlags, _checksum.GetCurrentHashAsUInt64());
        _sections.Add(section);
        _sectionName = null;
        return section;
    }

    /// <summary>Writes a whole section at once.</summary>
    public ModelImageSection WriteSection<T>(string name, ReadOnlySpan<T> data, ModelImageSectionFlags flags = ModelImageSectionFlags.None)
        where T : unmanaged
    {
        BeginSection(name, Unsafe.SizeOf<T>(), flags);
        Write(data);
        return EndSection();
    }

    /// <summary>Writes the section table and the header, and flushes the stream (not to disk: the caller decides).</summary>
    public void Complete()
    {
        ThrowIfCompleted();
        if (_sectionName is not null)
        {
            throw new InvalidOperationException($"section '{_sectionName}' is still open");
        }

        Pad();
        long tableOffset = _position - _start;
        byte[] table = new byte[_sections.Count * ModelImageFormat.SectionEntrySize];
        for (int i = 0; i < _sections.Count; i++)
        {
            WriteEntry(table.AsSpan(i * ModelImageFormat.SectionEntrySize, ModelImageFormat.SectionEntrySize), _sections[i]);
        }

        _destination.Write(table);
        _position += table.Length;
        long length = _position - _start;

        Span<byte> header = stackalloc byte[ModelImageFormat.HeaderSize];
        header.Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(header[ModelImageFormat.MagicOffset..], ModelImageFormat.Magic);
        BinaryPrimitives.WriteInt32LittleEndian(header[ModelImageFormat.VersionOffset..], ModelImageFormat.FormatVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header[ModelImageFormat.HeaderSizeOffset..], ModelImageFormat.HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.ImageLengthOffset..], length);
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.TableOffsetOffset..], tableOffset);
        BinaryPrimitives.WriteInt32LittleEndian(header[ModelImageFormat.SectionCountOffset..], _sections.Count);
        BinaryPrimitives.WriteUInt64LittleEndian(header[ModelImageFormat.TableChecksumOffset..], XxHash3.HashToUInt64(table));
        Encoding.ASCII.GetBytes(_backendName, header.Slice(ModelImageFormat.BackendNameOffset, ModelImageFormat.MaxBackendNameLength));
        BinaryPrimitives.WriteInt32LittleEndian(header[ModelImageFormat.BackendVersionOffset..], _backendFormatVersion);
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.CreatedOffset..], DateTime.UtcNow.Subtract(DateTime.UnixEpoch).Ticks * 100);
        WriteSource(header, _source);

        _destination.Position = _start;
        _destination.Write(header);
        _destination.Position = _start + length;
        _destination.Flush();
        _completed = true;
        if (Progress is not null)
        {
            ReportProgress();
        }
    }

    private void ReportProgress()
    {
        _reportedPosition = _position;
        Progress!.Report(new ProgressReport(ProgressStep, _position - _start, _expectedLength));
    }

    // Writes the source fields and flags, then seals the header with its checksum.
    private static void WriteSource(Span<byte> header, ModelImageSource source)
    {
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.SourceSizeOffset..], source.Size);
        BinaryPrimitives.WriteUInt128LittleEndian(header[ModelImageFormat.SourceHashOffset..], source.ContentHash);
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.SourceModifiedOffset..], source.ModifiedTimeNs);
        BinaryPrimitives.WriteInt64LittleEndian(header[ModelImageFormat.SourceChangedOffset..], source.ChangeTimeNs);
        BinaryPrimitives.WriteUInt64LittleEndian(header[ModelImageFormat.SourceInodeOffset..], source.Inode);
        BinaryPrimitives.WriteUInt64LittleEndian(header[ModelImageFormat.SourceDeviceOffset..], source.Device);
        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[ModelImageFormat.FlagsOffset..]);
        flags = source.FingerprintIsRacy ? flags | ModelImageFormat.FlagFingerprintIsRacy : flags & ~ModelImageFormat.FlagFingerprintIsRacy;
        BinaryPrimitives.WriteUInt32LittleEndian(header[ModelImageFormat.FlagsOffset..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(
            header[ModelImageFormat.HeaderChecksumOffset..], XxHash3.HashToUInt64(header[..ModelImageFormat.HeaderChecksumOffset]));
    }

    private static void WriteEntry(Span<byte> entry, ModelImageSection section)
    {
        entry.Clear();
        Encoding.ASCII.GetBytes(section.Name, entry.Slice(ModelImageFormat.EntryNameOffset, ModelImageFormat.MaxSectionNameLength));
        BinaryPrimitives.WriteInt64LittleEndian(entry[ModelImageFormat.EntryOffsetOffset..], section.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(entry[ModelImageFormat.EntryLengthOffset..], section.Length);
        BinaryPrimitives.WriteInt32LittleEndian(entry[ModelImageFormat.EntryElementSizeOffset..], section.ElementSize);
        BinaryPrimitives.WriteInt32LittleEndian(entry[ModelImageFormat.EntryFlagsOffset..], (int)section.Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[ModelImageFormat.EntryChecksumOffset..], section.Checksum);
    }

    private void Pad()
    {
        long relative = _position - _start;
        int padding = (int)(ModelImageFormat.AlignUp(relative) - relative);
        if (padding > 0)
        {
            _destination.Write(s_zeros.AsSpan(0, padding));
            _position += padding;
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            throw new InvalidOperationException("the image is already complete");
        }
    }
}
