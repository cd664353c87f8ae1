using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Images;

/// <summary>The image container: layout, round trip, and refusal of every kind of damaged file.</summary>
public sealed class ModelImageTests : IDisposable
{
    private static readonly ModelImageSource s_source = new(
        Size: 1234, ContentHash: new UInt128(0x0102030405060708, 0x090A0B0C0D0E0F10), ModifiedTimeNs: 1_700_000_000_123_456_789,
        ChangeTimeNs: 1_700_000_001_000_000_000, Inode: 42, Device: 7, FingerprintIsRacy: false);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void WriteThenOpen_RoundTripsSectionsAndHeader()
    {
        string path = WriteSample("sample.ssimg");

        using ModelImage image = ModelImage.Open(path);
        Assert.True(image.IsMapped);
        Assert.Equal("sample.ssimg", image.Name);
        Assert.Equal(new FileInfo(path).Length, image.Length);
        Assert.Equal("test", image.BackendName);
        Assert.Equal(3, image.BackendFormatVersion);
        Assert.Equal(s_source, image.Source);
        Assert.Equal(["test.bytes", "test.ints", "test.floats", "test.empty"], image.Sections.Select(s => s.Name));
        Assert.Equal("hello"u8.ToArray(), image.GetSpan<byte>(image.GetSection<byte>("test.bytes")).ToArray());
        Assert.Equal([1, -2, 3], image.GetSpan<int>(image.GetSection<int>("test.ints")).ToArray());
        Assert.Equal([0.5f, 1.5f, 2.5f, 3.5f], image.GetSpan<float>(image.GetSection<float>("test.floats")).ToArray());
        Assert.Equal([1.5f, 2.5f], image.GetSpan<float>(image.GetSection<float>("test.floats"), 1, 2).ToArray());
        Assert.True(image.GetSpan<byte>(image.GetSection<byte>("test.empty")).IsEmpty);
        image.VerifyAllChecksums();
    }

    [Fact]
    public void Sections_Start64ByteAligned_AndTheTableEndsTheFile()
    {
        using ModelImage image = ModelImage.Open(WriteSample("sample.ssimg"));

        long previousEnd = ModelImageFormat.HeaderSize;
        foreach (ModelImageSection section in image.Sections)
        {
            Assert.Equal(0, section.Offset % 64);
            Assert.True(section.Offset >= previousEnd);
            previousEnd = section.Offset + section.Length;
        }

        byte[] bytes = File.ReadAllBytes(image.Path!);
        long tableOffset = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24));
        Assert.Equal(bytes.Length, tableOffset + (image.Sections.Count * 64));
    }

    // Golden: the header layout is append-only. These offsets are what docs/formats/model-image.md documents.
    [Fact]
    public void HeaderLayout_IsFrozen()
    {
        byte[] bytes = File.ReadAllBytes(WriteSample("sample.ssimg"));

        Assert.Equal("SHARPIMG"u8.ToArray(), bytes[..8]);
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(256, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(bytes.Length, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(4, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(32)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(36)));
        Assert.Equal("test\0\0\0\0\0\0\0\0\0\0\0\0"u8.ToArray(), bytes[48..64]);
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(64)));
        Assert.Equal(1234, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(72)));
        Assert.Equal(s_source.ContentHash, BinaryPrimitives.ReadUInt128LittleEndian(bytes.AsSpan(80)));
        Assert.Equal(s_source.ModifiedTimeNs, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(96)));
        Assert.Equal(s_source.ChangeTimeNs, BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(104)));
        Assert.Equal(42ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(112)));
        Assert.Equal(7ul, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(120)));
        Assert.Equal(XxHash3.HashToUInt64(bytes.AsSpan(0, 248)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(248)));

        long table = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24));
        Assert.Equal(XxHash3.HashToUInt64(bytes.AsSpan((int)table)), BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40)));
        ReadOnlySpan<byte> first = bytes.AsSpan((int)table, 64);
        Assert.Equal("test.bytes", Encoding.ASCII.GetString(first[..32]).TrimEnd('\0'));
        Assert.Equal(256, BinaryPrimitives.ReadInt64LittleEndian(first[32..]));
        Assert.Equal(5, BinaryPrimitives.ReadInt64LittleEndian(first[40..]));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(first[48..]));
        Assert.Equal(1, BinaryPrimitives.ReadInt32LittleEndian(first[52..]));
        Assert.Equal(XxHash3.HashToUInt64("hello"u8), BinaryPrimitives.ReadUInt64LittleEndian(first[56..]));
    }

    [Fact]
    public void Load_FromMemory_IsNotMapped_AndReadsTheSame()
    {
        byte[] bytes = File.ReadAllBytes(WriteSample("sample.ssimg"));

        using ModelImage image = ModelImage.Load(bytes, "in-memory");
        Assert.False(image.IsMapped);
        Assert.Null(image.Path);
        Assert.Equal([1, -2, 3], image.GetSpan<int>(image.GetSection<int>("test.ints")).ToArray());
    }

    [Fact]
    public void GetSpan_ChecksElementTypeRangeAndDisposal()
    {
        ModelImage image = ModelImage.Open(WriteSample("sample.ssimg"));
        ModelImageSection ints = image.GetSection<int>("test.ints");

        Assert.Throws<ArgumentException>(() => image.GetSpan<long>(ints).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => image.GetSpan<int>(ints, 2, 2).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => image.GetSpan<int>(ints, -1, 1).Length);
        Assert.Throws<ArgumentException>(() => image.GetSpan<int>(ints with { Offset = image.Length - 4, Length = 8 }).Length);
        ModelLoadException missing = Assert.Throws<ModelLoadException>(() => image.GetSection<int>("test.nope"));
        Assert.Equal("sample.ssimg: section 'test.nope' is missing", missing.Message);
        ModelLoadException wrongType = Assert.Throws<ModelLoadException>(() => image.GetSection<long>("test.ints"));
        Assert.Equal("sample.ssimg: section 'test.ints' has 4-byte elements; expected 8", wrongType.Message);

        image.Dispose();
        Assert.Throws<ObjectDisposedException>(() => image.GetSpan<int>(ints).Length);
        image.Dispose();
    }

    [Fact]
    public void Writer_RefusesBadNamesDuplicatesAndRaggedSections()
    {
        using var stream = new MemoryStream();
        var writer = new ModelImageWriter(stream, "test", 1, default);

        Assert.Throws<ArgumentException>(() => writer.BeginSection("Upper", 1));
        Assert.Throws<ArgumentException>(() => writer.BeginSection(new string('a', 33), 1));
        writer.WriteSection<byte>("a", [1]);
        Assert.Throws<ArgumentException>(() => writer.BeginSection("a", 1));
        writer.BeginSection("b", 4);
        writer.Write("abc"u8);
        Assert.Throws<InvalidOperationException>(() => writer.EndSection());
        Assert.Throws<ArgumentException>(() => new ModelImageWriter(new MemoryStream(), "a-much-too-long-backend", 1, default));
    }

    [Fact]
    public void Writer_Progress_ReportsAboutEveryMegabyte_WithTheAnnouncedLengthAsTheTotal()
    {
        using var stream = new MemoryStream();
        var progress = new RecordingProgress();
        var writer = new ModelImageWriter(stream, "test", 1, default) { Progress = progress };

        writer.ExpectSections([3 << 20, 5]);
        writer.BeginSection("test.big", 1);
        byte[] chunk = new byte[64 << 10];
        for (int i = 0; i < 48; i++)
        {
            writer.Write(chunk);
        }

        writer.EndSection();
        writer.WriteSection<byte>("test.small", "hello"u8);
        writer.Complete();

        IReadOnlyList<ProgressReport> reports = progress.Reports;
        Assert.Equal(4, reports.Count); // past 1, 2 and 3 MiB, and the complete image
        Assert.All(reports, r => Assert.Equal((ModelImageWriter.ProgressStep, (long?)stream.Length), (r.Step, r.BytesTotal)));
        Assert.Equal(stream.Length, reports[^1].BytesDone);
        Assert.Equal(reports.OrderBy(r => r.BytesDone), reports);
    }

    [Fact]
    public void Writer_Progress_WithoutAnnouncedSections_SaysTheTotalIsNotKnown()
    {
        using var stream = new MemoryStream();
        var progress = new RecordingProgress();
        var writer = new ModelImageWriter(stream, "test", 1, default) { Progress = progress };

        writer.WriteSection<byte>("test.small", "hello"u8);
        writer.Complete();

        Assert.Equal([new ProgressReport(ModelImageWriter.ProgressStep, stream.Length, null)], progress.Reports);
    }

    [Theory]
    [InlineData("", "empty.ssimg: the file is empty; it is not a Sharpserve model image")]
    [InlineData("hello, this is not an image at all", "foreign.ssimg: not a Sharpserve model image (it does not start with the magic bytes \"SHARPIMG\")")]
    public void Open_ForeignOrEmptyFile_SaysItIsNotAnImage(string content, string message)
    {
        string path = _temp.File(content.Length == 0 ? "empty.ssimg" : "foreign.ssimg");
        File.WriteAllText(path, content);

        Assert.Equal(message, Assert.Throws<ModelLoadException>(() => ModelImage.Open(path)).Message);
        Assert.False(ModelImage.HasImageMagic(path));
    }

    [Fact]
    public void TryReadBackendName_ReadsTheHeaderAlone_AndRefusesWhatIsNotAnImage()
    {
        string path = WriteSample("sample.ssimg");
        byte[] bytes = File.ReadAllBytes(path);
        byte[] corruptHeader = (byte[])bytes.Clone();
        corruptHeader[100] ^= 1;
        byte[] corruptTable = (byte[])bytes.Clone();
        corruptTable[^20] ^= 1;

        Assert.True(ModelImage.TryReadBackendName(path, out string? backend));
        Assert.Equal("test", backend);
        // Only the header is read: a damaged section table is for Open to find.
        Assert.True(ModelImage.TryReadBackendName(Save("table.ssimg", corruptTable), out backend));
        Assert.Equal("test", backend);
        Assert.False(ModelImage.TryReadBackendName(Save("header.ssimg", corruptHeader), out backend));
        Assert.Null(backend);
        Assert.False(ModelImage.TryReadBackendName(Save("short.ssimg", bytes[..100]), out _));
        Assert.False(ModelImage.TryReadBackendName(Save("text.ssimg", "hello, not an image"u8.ToArray()), out _));
        Assert.False(ModelImage.TryReadBackendName(Save("empty.ssimg", []), out _));
        Assert.False(ModelImage.TryReadBackendName(_temp.File("gone.ssimg"), out _));
    }

    [Fact]
    public void Open_MissingFile_NamesIt()
    {
        ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelImage.Open(_temp.File("gone.ssimg")));
        Assert.StartsWith("gone.ssimg: cannot open the image: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_OtherFormatVersion_SaysToRebuild()
    {
        byte[] bytes = File.ReadAllBytes(WriteSample("sample.ssimg"));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 2);
        string path = Save("v2.ssimg", bytes);

        Assert.Equal(
            "v2.ssimg: Sharpserve model image format version 2 is not supported; this build reads version 1 (rebuild the image with 'sharpserve prepare')",
            Assert.Throws<ModelLoadException>(() => ModelImage.Open(path)).Message);
    }

    [Fact]
    public void Open_CorruptHeaderOrTable_FailsTheChecksum()
    {
        byte[] bytes = File.ReadAllBytes(WriteSample("sample.ssimg"));
        byte[] header = (byte[])bytes.Clone();
        header[100] ^= 1;
        byte[] table = (byte[])bytes.Clone();
        table[^20] ^= 1;

        Assert.Equal(
            "header.ssimg: the image header is corrupt (its checksum does not match)",
            Assert.Throws<ModelLoadException>(() => ModelImage.Open(Save("header.ssimg", header))).Message);
        Assert.Equal(
            "table.ssimg: the section table is corrupt (its checksum does not match)",
            Assert.Throws<ModelLoadException>(() => ModelImage.Open(Save("table.ssimg", table))).Message);
    }

    [Fact]
    public void Open_CorruptVerifiedSection_Fails_ButABulkSectionOnlyFailsTheFullCheck()
    {
        string path = WriteSample("sample.ssimg");
        byte[] bytes = File.ReadAllBytes(path);
        (long bytesOffset, long floatsOffset) = (Offset(path, "test.bytes"), Offset(path, "test.floats"));
        byte[] verified = (byte[])bytes.Clone();
        verified[bytesOffset] ^= 0x20;
        byte[] bulk = (byte[])bytes.Clone();
        bulk[floatsOffset] ^= 0x20;

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelImage.Open(Save("verified.ssimg", verified)));
        Assert.StartsWith("verified.ssimg: section 'test.bytes' is corrupt: checksum 0x", error.Message, StringComparison.Ordinal);
        using ModelImage image = ModelImage.Open(Save("bulk.ssimg", bulk));
        Assert.StartsWith(
            "bulk.ssimg: section 'test.floats' is corrupt", Assert.Throws<ModelLoadException>(image.VerifyAllChecksums).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_AppendedBytes_AreRefused()
    {
        string path = WriteSample("sample.ssimg");
        File.AppendAllText(path, "x");

        Assert.Equal(
            $"sample.ssimg: the file has {new FileInfo(path).Length} bytes but the header records an image of {new FileInfo(path).Length - 1}; bytes were appended",
            Assert.Throws<ModelLoadException>(() => ModelImage.Open(path)).Message);
    }

    [Fact]
    public void Open_SectionsOutOfBoundsMisalignedOrOverlapping_AreRefusedEvenWithValidChecksums()
    {
        string path = WriteSample("sample.ssimg");
        byte[] original = File.ReadAllBytes(path);
        int table = (int)BinaryPrimitives.ReadInt64LittleEndian(original.AsSpan(24));

        (string Name, Action<byte[]> Damage, string Message)[] cases =
        [
            ("past-end", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(table + 40), 1L << 40), "out of bounds"),
            ("negative", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(table + 40), -8), "out of bounds"),
            ("misaligned", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(table + 32), 260), "not a multiple of 64"),
            ("overlap", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(table + 64 + 32), 256), "out of bounds"),
            ("in-header", b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(table + 32), 0), "out of bounds"),
            ("ragged", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(table + 64 + 48), 8), "whole number of 8-byte elements"),
            ("zero-size", b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(table + 48), 0), "whole number of 0-byte elements"),
            ("bad-name", b => b[table] = (byte)'!', "section 0 has an invalid name"),
            ("duplicate", b => "test.bytes"u8.CopyTo(b.AsSpan(table + 64)), "repeats the name of section 0"),
            ("flags", b => b[table + 52] = 0x80, "unknown flags"),
        ];

        foreach ((string name, Action<byte[]> damage, string message) in cases)
        {
            byte[] bytes = (byte[])original.Clone();
            damage(bytes);
            Reseal(bytes);
            string damaged = Save(name + ".ssimg", bytes);
            ModelLoadException? error = Record.Exception(() => ModelImage.Open(damaged).Dispose()) as ModelLoadException;
            Assert.True(error is not null, $"{name}: opened without an error");
            Assert.StartsWith(name + ".ssimg: ", error.Message, StringComparison.Ordinal);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Open_TruncatedAtEveryOffset_FailsWithAMessageNamingTheFile()
    {
        byte[] bytes = File.ReadAllBytes(WriteSample("sample.ssimg"));
        string path = _temp.File("cut.ssimg");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
            ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelImage.Open(path).Dispose());
            Assert.StartsWith("cut.ssimg: ", error.Message, StringComparison.Ordinal);
            if (length >= 8)
            {
                Assert.Contains($"truncated at byte {length}", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Open_EverySingleByteFlip_NeverCrashes_AndEitherFailsCleanlyOrReadsInBounds()
    {
        byte[] original = File.ReadAllBytes(WriteSample("sample.ssimg"));
        string path = _temp.File("flip.ssimg");
        int opened = 0;
        int refused = 0;
        for (int i = 0; i < original.Length; i++)
        {
            byte[] bytes = (byte[])original.Clone();
            bytes[i] ^= 0xFF;
            File.WriteAllBytes(path, bytes);
            try
            {
                using ModelImage image = ModelImage.Open(path);
                foreach (ModelImageSection section in image.Sections)
                {
                    Assert.Equal(section.Length, image.GetSpan<byte>(section with { ElementSize = 1 }).Length);
                }

                opened++;
            }
            catch (ModelLoadException e)
            {
                Assert.StartsWith("flip.ssimg: ", e.Message, StringComparison.Ordinal);
                Assert.True(e.Message.Length > "flip.ssimg: ".Length + 10, $"byte {i}: '{e.Message}' does not say what is wrong");
                refused++;
            }
        }

        // Flips in the header, table and verified sections are refused; flips in unverified section data (or in
        // padding) open. Both must occur, or the loop checks nothing.
        Assert.True(refused > 0, "no flip was refused");
        Assert.True(opened > 0, "every flip was refused, even in unverified section data");
    }

    private string WriteSample(string name)
    {
        string path = _temp.File(name);
        using var file = new FileStream(path, FileMode.Create, FileAccess.ReadWrite);
        var writer = new ModelImageWriter(file, "test", 3, s_source);
        writer.WriteSection("test.bytes", "hello"u8, ModelImageSectionFlags.VerifyOnOpen);
        writer.WriteSection<int>("test.ints", [1, -2, 3]);
        writer.BeginSection("test.floats", sizeof(float));
        writer.Write<float>([0.5f, 1.5f]);
        writer.Write<float>([2.5f, 3.5f]);
        writer.EndSection();
        writer.WriteSection<byte>("test.empty", []);
        writer.Complete();
        return path;
    }

    private string Save(string name, byte[] bytes)
    {
        string path = _temp.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static long Offset(string path, string section)
    {
        using ModelImage image = ModelImage.Open(path);
        Assert.True(image.TryGetSection(section, out ModelImageSection found));
        return found.Offset;
    }

    // Recomputes the table and header checksums, so only the structural checks can catch the damage.
    private static void Reseal(byte[] bytes)
    {
        int table = (int)BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(24));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(40), XxHash3.HashToUInt64(bytes.AsSpan(table)));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(248), XxHash3.HashToUInt64(bytes.AsSpan(0, 248)));
    }
}
