using System.Buffers.Binary;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// A forward cursor over the mapped file used while parsing headers. Every read checks the remaining length
/// first, and failures become <see cref="ModelLoadException"/>s that name the file, the byte and the section.
/// </summary>
internal sealed class FastTextFileReader
{
    private readonly FastTextMappedFile _file;
    private readonly string _fileName;
    private string _section = "the file header";
    private long _entryIndex = -1;
    private long _entryCount;

    public FastTextFileReader(FastTextMappedFile file, string fileName)
    {
        _file = file;
        _fileName = fileName;
    }

    public long Position { get; private set; }

    public long Remaining => _file.Length - Position;

    public long Length => _file.Length;

    /// <summary>Names what is read next, for error messages.</summary>
    public void BeginSection(string section)
    {
        _section = section;
        _entryIndex = -1;
    }

    /// <summary>Names the entry read next inside the current section, for error messages.</summary>
    public void SetEntry(long index, long count)
    {
        _entryIndex = index;
        _entryCount = count;
    }

    public byte ReadByte()
    {
        Require(1);
        byte value = _file.GetBytes(Position, 1)[0];
        Position += 1;
        return value;
    }

    public int ReadInt32()
    {
        Require(4);
        int value = BinaryPrimitives.ReadInt32LittleEndian(_file.GetBytes(Position, 4));
        Position += 4;
        return value;
    }

    public long ReadInt64()
    {
        Require(8);
        long value = BinaryPrimitives.ReadInt64LittleEndian(_file.GetBytes(Position, 8));
        Position += 8;
        return value;
    }

    public double ReadDouble()
    {
        Require(8);
        double value = BinaryPrimitives.ReadDoubleLittleEndian(_file.GetBytes(Position, 8));
        Position += 8;
        return value;
    }

    /// <summary>Reads a NUL-terminated byte string and returns where its bytes are (without the NUL).</summary>
    public void ReadNulTerminated(out long offset, out int length)
    {
        // A word longer than 1 GiB is corrupt in practice; the cap keeps the search inside one span.
        const int MaxLength = 1 << 30;
        ReadOnlySpan<byte> window = _file.GetBytesUpTo(Position, MaxLength + 1);
        int nul = window.IndexOf((byte)0);
        if (nul < 0)
        {
            if (window.Length > MaxLength)
            {
                throw Invalid($"a string in {Describe()} at byte {Position} is longer than {MaxLength} bytes");
            }

            throw Truncated();
        }

        offset = Position;
        length = nul;
        Position += nul + 1;
    }

    public void Skip(long count)
    {
        Require(count);
        Position += count;
    }

    /// <summary>Throws unless <paramref name="count"/> more bytes exist.</summary>
    public void Require(long count)
    {
        if (count < 0 || count > Remaining)
        {
            throw Truncated();
        }
    }

    public ModelLoadException Truncated() =>
        new($"{_fileName}: truncated at byte {_file.Length} while reading {Describe()}");

    /// <summary>A truncation found by a size check rather than by a read, with the arithmetic that shows it.</summary>
    public ModelLoadException Truncated(string detail) =>
        new($"{_fileName}: truncated at byte {_file.Length} while reading {Describe()}: {detail}");

    public ModelLoadException Invalid(string problem) => new($"{_fileName}: {problem}");

    private string Describe() =>
        _entryIndex < 0 ? _section : $"{_section} (entry {_entryIndex} of {_entryCount})";
}
