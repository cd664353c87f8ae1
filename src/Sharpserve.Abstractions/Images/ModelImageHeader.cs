using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Sharpserve.Abstractions.Images;

/// <summary>The fixed 256-byte header of an image, parsed and checked (<see cref="ModelImageFormat"/> has the layout).</summary>
internal readonly record struct ModelImageHeader(
    long ImageLength,
    long TableOffset,
    int SectionCount,
    ulong TableChecksum,
    string BackendName,
    int BackendFormatVersion,
    ModelImageSource Source,
    long CreatedTimeNs)
{
    /// <summary>Checks magic, version, checksum and the table's place; every failure names the file.</summary>
    public static ModelImageHeader Parse(ReadOnlySpan<byte> header, long fileLength, string name)
    {
        if (fileLength == 0)
        {
            throw Invalid(name, "the file is empty; it is not a Sharpserve model image");
        }

        if (header.Length < sizeof(ulong) || BinaryPrimitives.ReadUInt64LittleEndian(header) != ModelImageFormat.Magic)
        {
            throw Invalid(name, "not a Sharpserve model image (it does not start with the magic bytes \"SHARPIMG\")");
        }

        if (header.Length < ModelImageFormat.HeaderSize)
        {
            throw Invalid(name, $"truncated at byte {fileLength}: the image header alone needs {ModelImageFormat.HeaderSize} bytes");
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(header[ModelImageFormat.VersionOffset..]);
        if (version != ModelImageFormat.FormatVersion)
        {
            throw Invalid(
                name,
                $"Sharpserve model image format version {version} is not supported; this build reads version {ModelImageFormat.FormatVersion} (rebuild the image with 'sharpserve prepare')");
        }

        ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(header[ModelImageFormat.HeaderChecksumOffset..]);
        if (XxHash3.HashToUInt64(header[..ModelImageFormat.HeaderChecksumOffset]) != checksum)
        {
            throw Invalid(name, "the image header is corrupt (its checksum does not match)");
        }

        int headerSize = BinaryPrimitives.ReadInt32LittleEndian(header[ModelImageFormat.HeaderSizeOffset..]);
        if (headerSize != ModelImageFormat.HeaderSize)
        {
            throw Invalid(name, $"the header size is {headerSize}; version {ModelImageFormat.FormatVersion} headers are {ModelImageFormat.HeaderSize} bytes");
        }

        long imageLength = BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.ImageLengthOffset..]);
        if (imageLength != fileLength)
        {
            throw Invalid(
                name,
                fileLength < imageLength
                    ? $"truncated at byte {fileLength}: the header records an image of {imageLength} bytes"
                    : $"the file has {fileLength} bytes but the header records an image of {imageLength}; bytes were appended");
        }

        long tableOffset = BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.TableOffsetOffset..]);
        int sectionCount = BinaryPrimitives.ReadInt32LittleEndian(header[ModelImageFormat.SectionCountOffset..]);
        if (sectionCount is < 0 or > ModelImageFormat.MaxSectionCount)
        {
            throw Invalid(name, $"the header records {sectionCount} sections; at most {ModelImageFormat.MaxSectionCount} are allowed");
        }

        if (tableOffset < ModelImageFormat.HeaderSize || tableOffset % ModelImageFormat.Alignment != 0 ||
            tableOffset > imageLength || imageLength - tableOffset != (long)sectionCount * ModelImageFormat.SectionEntrySize)
        {
            throw Invalid(
                name,
                $"the section table at byte {tableOffset} with {sectionCount} entries does not end the {imageLength}-byte image");
        }

        ReadOnlySpan<byte> backendBytes = header.Slice(ModelImageFormat.BackendNameOffset, ModelImageFormat.MaxBackendNameLength);
        string backendName = ReadName(backendBytes)
            ?? throw Invalid(name, "the backend name in the header is not 1..16 printable ASCII characters");

        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[ModelImageFormat.FlagsOffset..]);
        var source = new ModelImageSource(
            BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.SourceSizeOffset..]),
            BinaryPrimitives.ReadUInt128LittleEndian(header[ModelImageFormat.SourceHashOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.SourceModifiedOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.SourceChangedOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[ModelImageFormat.SourceInodeOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[ModelImageFormat.SourceDeviceOffset..]),
            (flags & ModelImageFormat.FlagFingerprintIsRacy) != 0);

        return new ModelImageHeader(
            imageLength,
            tableOffset,
            sectionCount,
            BinaryPrimitives.ReadUInt64LittleEndian(header[ModelImageFormat.TableChecksumOffset..]),
            backendName,
            BinaryPrimitives.ReadInt32LittleEndian(header[ModelImageFormat.BackendVersionOffset..]),
            source,
            BinaryPrimitives.ReadInt64LittleEndian(header[ModelImageFormat.CreatedOffset..]));
    }

    /// <summary>Checks the section table: checksum, names, alignment, order, no overlap, every section inside the file.</summary>
    public ModelImageSection[] ParseTable(ReadOnlySpan<byte> table, string name)
    {
        if (XxHash3.HashToUInt64(table) != TableChecksum)
        {
            throw Invalid(name, "the section table is corrupt (its checksum does not match)");
        }

        var sections = new ModelImageSection[SectionCount];
        long previousEnd = ModelImageFormat.HeaderSize;
        for (int i = 0; i < sections.Length; i++)
        {
            ReadOnlySpan<byte> entry = table.Slice(i * ModelImageFormat.SectionEntrySize, ModelImageFormat.SectionEntrySize);
            string? sectionName = ReadName(entry.Slice(ModelImageFormat.EntryNameOffset, ModelImageFormat.MaxSectionNameLength));
            if (sectionName is null || !ModelImageFormat.IsValidSectionName(sectionName))
            {
                throw Invalid(name, $"section {i} has an invalid name");
            }

            long offset = BinaryPrimitives.ReadInt64LittleEndian(entry[ModelImageFormat.EntryOffsetOffset..]);
            long length = BinaryPrimitives.ReadInt64LittleEndian(entry[ModelImageFormat.EntryLengthOffset..]);
            int elementSize = BinaryPrimitives.ReadInt32LittleEndian(entry[ModelImageFormat.EntryElementSizeOffset..]);
            int flags = BinaryPrimitives.ReadInt32LittleEndian(entry[ModelImageFormat.EntryFlagsOffset..]);
            ulong checksum = BinaryPrimitives.ReadUInt64LittleEndian(entry[ModelImageFormat.EntryChecksumOffset..]);
            string where = $"section {i} ('{sectionName}')";
            if (offset % ModelImageFormat.Alignment != 0)
            {
                throw Invalid(name, $"{where} starts at byte {offset}, not a multiple of {ModelImageFormat.Alignment}");
            }

            if (offset < previousEnd || offset > TableOffset || length < 0 || length > TableOffset - offset)
            {
                throw Invalid(
                    name,
                    $"{where} [{offset}, +{length}) is out of bounds: sections lie in order, without overlap, between byte {ModelImageFormat.HeaderSize} and the section table at byte {TableOffset}");
            }

            if (elementSize < 1 || length % elementSize != 0)
            {
                throw Invalid(name, $"{where} has {length} bytes, which is not a whole number of {elementSize}-byte elements");
            }

            if ((flags & ~(int)ModelImageSectionFlags.VerifyOnOpen) != 0)
            {
                throw Invalid(name, $"{where} has unknown flags 0x{flags:x}");
            }

            for (int j = 0; j < i; j++)
            {
                if (sections[j].Name == sectionName)
                {
                    throw Invalid(name, $"{where} repeats the name of section {j}");
                }
            }

            sections[i] = new ModelImageSection(sectionName, offset, length, elementSize, (ModelImageSectionFlags)flags, checksum);
            previousEnd = offset + length;
        }

        return sections;
    }

    private static ModelLoadException Invalid(string name, string problem) => new($"{name}: {problem}");

    // A NUL-padded printable-ASCII name, or null when it is empty, unprintable, or has bytes after the padding.
    private static string? ReadName(ReadOnlySpan<byte> field)
    {
        int length = field.IndexOf((byte)0);
        if (length < 0)
        {
            length = field.Length;
        }

        if (length == 0 || field[length..].ContainsAnyExcept((byte)0))
        {
            return null;
        }

        ReadOnlySpan<byte> text = field[..length];
        foreach (byte b in text)
        {
            if (b is < 0x21 or > 0x7E)
            {
                return null;
            }
        }

        return Encoding.ASCII.GetString(text);
    }
}
