namespace Sharpserve.Abstractions.Images;

/// <summary>
/// The byte layout of a model image (docs/formats/model-image.md). Little-endian. A 256-byte header, then the
/// sections (each at a multiple of <see cref="Alignment"/>), then the section table, which ends the file.
/// Offsets here are append-only: a change of meaning bumps <see cref="FormatVersion"/>.
/// </summary>
public static class ModelImageFormat
{
    /// <summary>"SHARPIMG": the first eight bytes of every image.</summary>
    public const ulong Magic = 0x474D495052414853;

    /// <summary>The container version this build writes and reads.</summary>
    public const int FormatVersion = 1;

    public const int HeaderSize = 256;

    /// <summary>Every section starts at a multiple of this (a cache line; also AVX-512's vector size).</summary>
    public const int Alignment = 64;

    public const int SectionEntrySize = 64;

    public const int MaxSectionNameLength = 32;

    public const int MaxBackendNameLength = 16;

    /// <summary>Keeps the section table small enough to read and check in full on every open.</summary>
    public const int MaxSectionCount = 1024;

    /// <summary>File extension of images in the cache directory.</summary>
    public const string Extension = ".ssimg";

    // Header fields (byte offsets).
    internal const int MagicOffset = 0;
    internal const int VersionOffset = 8;
    internal const int HeaderSizeOffset = 12;
    internal const int ImageLengthOffset = 16;
    internal const int TableOffsetOffset = 24;
    internal const int SectionCountOffset = 32;
    internal const int FlagsOffset = 36;
    internal const int TableChecksumOffset = 40;
    internal const int BackendNameOffset = 48;
    internal const int BackendVersionOffset = 64;
    internal const int SourceSizeOffset = 72;
    internal const int SourceHashOffset = 80;
    internal const int SourceModifiedOffset = 96;
    internal const int SourceChangedOffset = 104;
    internal const int SourceInodeOffset = 112;
    internal const int SourceDeviceOffset = 120;
    internal const int CreatedOffset = 128;
    internal const int HeaderChecksumOffset = 248;

    // Header flags.
    internal const uint FlagFingerprintIsRacy = 1;

    // Section table entry fields (byte offsets within the entry).
    internal const int EntryNameOffset = 0;
    internal const int EntryOffsetOffset = 32;
    internal const int EntryLengthOffset = 40;
    internal const int EntryElementSizeOffset = 48;
    internal const int EntryFlagsOffset = 52;
    internal const int EntryChecksumOffset = 56;

    internal static long AlignUp(long value) => (value + (Alignment - 1)) & ~(long)(Alignment - 1);

    /// <summary>Section names: 1..32 of a-z, 0-9, '.', '_', '-'.</summary>
    internal static bool IsValidSectionName(ReadOnlySpan<char> name)
    {
        if (name.IsEmpty || name.Length > MaxSectionNameLength)
        {
            return false;
        }

        foreach (char c in name)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
