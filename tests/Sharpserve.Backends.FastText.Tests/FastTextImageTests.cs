using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Testing;
using Xunit.Abstractions;

namespace Sharpserve.Backends.FastText.Tests;

/// <summary>fastText models served from an image file: same predictions, checked sections, nothing big on the heap.</summary>
public sealed class FastTextImageTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FastTextBackend _backend = new();

    public void Dispose() => _temp.Dispose();

    [Theory]
    [MemberData(nameof(GoldenTests.ModelCases), MemberType = typeof(GoldenTests))]
    public void PredictionsFromAnImageFile_AreByteIdenticalToTheFastTextCli(string model, string caseName)
    {
        (_, int k, float threshold) = FastTextTestData.Cases().Single(c => c.Name == caseName);
        string image = WriteImage(FastTextTestData.ModelPath(model));

        using FastTextModel fromImage = FastTextModel.OpenImage(ModelImage.Open(image), model);
        string actual = Predict(fromImage, k, threshold);

        Assert.Equal(File.ReadAllBytes(FastTextTestData.GoldenPath(model, caseName)), Encoding.UTF8.GetBytes(actual));
    }

    [Fact]
    public void AnImageFile_IsMapped_AndKeepsTheArgumentsAndLabels()
    {
        string source = FastTextTestData.ModelPath("ova-sub-ng3");
        string image = WriteImage(source);

        using var fromImage = (FastTextModel)_backend.Open(image, "m");
        using FastTextModel fromBin = FastTextModel.Open(source, "m");

        Assert.Equal(new FileInfo(image).Length, fromImage.MappedBytes);
        Assert.Equal(fromBin.LabelCount, fromImage.LabelCount);
        Assert.Equal(Enumerable.Range(0, fromBin.LabelCount).Select(fromBin.GetLabel), Enumerable.Range(0, fromImage.LabelCount).Select(fromImage.GetLabel));
        Assert.Equivalent(fromBin.Args, fromImage.Args, strict: true);
        using ModelImage opened = ModelImage.Open(image);
        Assert.Equal(("fasttext", 1), (opened.BackendName, opened.BackendFormatVersion));
        Assert.Equal(
            ["fasttext.args", "fasttext.entries", "fasttext.strings", "fasttext.table", "fasttext.input", "fasttext.output"],
            opened.Sections.Select(s => s.Name));
    }

    [Fact]
    public void OpeningAnImage_AllocatesOnlyWhatTheLabelsNeed()
    {
        string image = WriteImage(FastTextTestData.ModelPath("hs-sharp"));
        FastTextModel.OpenImage(ModelImage.Open(image), "warm").Dispose();

        long before = GC.GetAllocatedBytesForCurrentThread();
        using FastTextModel model = FastTextModel.OpenImage(ModelImage.Open(image), "m");
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The dictionary (thousands of entries), its table and the tree stay in the mapping.
        output.WriteLine($"{allocated} bytes for {model.LabelCount} labels");
        Assert.True(allocated < 16_384 + (model.LabelCount * 256), $"opening allocated {allocated} bytes");
    }

    [Fact]
    public void TheSourceOverwrittenInPlace_ChangesNothingForAnOpenImage()
    {
        string source = _temp.File("model.bin");
        File.Copy(FastTextTestData.ModelPath("softmax-ng2"), source);
        string image = WriteImage(source);
        using FastTextModel model = FastTextModel.OpenImage(ModelImage.Open(image), "m");
        string before = Predict(model, -1, 0f);

        // Truncate and rewrite the same inode: a mapping of this file would fault (SIGBUS) past its new end.
        using (var stream = new FileStream(source, FileMode.Truncate, FileAccess.Write))
        {
            stream.Write(File.ReadAllBytes(FastTextTestData.ModelPath("hs-one-label")));
        }

        Assert.Equal(before, Predict(model, -1, 0f));
    }

    [Fact]
    public void TruncatedImages_FailWithAMessageNamingTheFile()
    {
        byte[] bytes = File.ReadAllBytes(WriteImage(FastTextTestData.ModelPath("hs-sharp")));
        string path = _temp.File("cut.ssimg");
        for (long length = 0; length < bytes.Length; length += length < 4096 ? 1 : 997)
        {
            File.WriteAllBytes(path, bytes.AsSpan(0, (int)length).ToArray());
            ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelImage.Open(path).Dispose());
            Assert.StartsWith("cut.ssimg: ", error.Message, StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string, string> DamagedSections() => new()
    {
        { "softmax-ng2", "slot-out-of-range", "dictionary table slot 0 holds 1000000; expected -1 or an entry id below" },
        { "softmax-ng2", "table-full", "the dictionary table has no empty slot" },
        { "softmax-ng2", "table-not-power-of-two", "slots; expected a power of two of at least 16 and more than" },
        { "softmax-ng2", "entry-outside-strings", "dictionary entry 0 of" },
        { "softmax-ng2", "bad-loss", "the stored arguments are invalid (model 3, loss 9," },
        { "softmax-ng2", "bad-counts", "the dictionary counts are inconsistent" },
        { "softmax-ng2", "short-input", "section 'fasttext.input' holds" },
        { "softmax-ng2", "missing-table", "section 'fasttext.table' is missing" },
        { "softmax-ng2", "table-as-bytes", "section 'fasttext.table' has 1-byte elements; expected 4" },
        { "softmax-ng2", "other-backend", "the image was written by the 'onnx' backend, not 'fasttext'" },
        { "softmax-ng2", "other-version", "fastText image format version 2 is not supported; this build reads version 1" },
        { "hs-sharp", "tree-cycle", "the hierarchical-softmax tree is malformed at node" },
        { "hs-sharp", "tree-shared-child", "the hierarchical-softmax tree is malformed at node" },
        { "hs-sharp", "missing-tree", "section 'fasttext.tree' is missing" },
    };

    // Damage that checksums cannot catch (the sections are written with valid checksums): the structural checks must.
    [Theory]
    [MemberData(nameof(DamagedSections))]
    public void DamagedSections_AreRefusedWithAClearMessage(string model, string damage, string message)
    {
        string good = WriteImage(FastTextTestData.ModelPath(model));
        string bad = _temp.File(damage + ".ssimg");
        Rewrite(good, bad, damage);

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => _backend.Open(bad, "m"));

        Assert.StartsWith(damage + ".ssimg: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hs-sub")] // with the hierarchical-softmax tree
    [InlineData("softmax-ng2")]
    public void WriteImage_AnnouncesTheExactImageLength_ForProgress(string model)
    {
        string path = _temp.File(model + ".ssimg");
        var progress = new RecordingProgress();
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var writer = new ModelImageWriter(file, _backend.Name, _backend.ImageFormatVersion, default) { Progress = progress };
            _backend.WriteImage(FastTextTestData.ModelPath(model), writer);
            writer.Complete();
        }

        long length = new FileInfo(path).Length;
        Assert.NotEmpty(progress.Reports);
        Assert.All(progress.Reports, r => Assert.Equal(length, r.BytesTotal));
        Assert.Equal(length, progress.Reports[^1].BytesDone);
    }

    [Fact]
    public void WriteImage_OfACorruptBin_ThrowsTheBinReadersMessage()
    {
        string source = _temp.File("broken.bin");
        File.WriteAllBytes(source, File.ReadAllBytes(FastTextTestData.ModelPath("hs-sub")).AsSpan(0, 1000).ToArray());
        using var stream = new MemoryStream();

        ModelLoadException error = Assert.Throws<ModelLoadException>(
            () => _backend.WriteImage(source, new ModelImageWriter(stream, "fasttext", 1, default)));

        Assert.StartsWith("broken.bin: truncated at byte 1000 while reading ", error.Message, StringComparison.Ordinal);
    }

    private static string Predict(FastTextModel model, int k, float threshold)
    {
        using FileStream input = File.OpenRead(FastTextTestData.InputPath);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        FastTextStreamPredictor.Predict(model, input, writer, k, threshold);
        return writer.ToString();
    }

    private string WriteImage(string source)
    {
        string path = _temp.File(Path.GetFileNameWithoutExtension(source) + "-" + Guid.NewGuid().ToString("N") + ".ssimg");
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        var writer = new ModelImageWriter(file, _backend.Name, _backend.ImageFormatVersion, default);
        _backend.WriteImage(source, writer);
        writer.Complete();
        return path;
    }

    // Copies an image section by section, damaging one part on the way.
    private static void Rewrite(string from, string to, string damage)
    {
        using ModelImage image = ModelImage.Open(from);
        using var file = new FileStream(to, FileMode.CreateNew, FileAccess.ReadWrite);
        string backend = damage == "other-backend" ? "onnx" : image.BackendName;
        var writer = new ModelImageWriter(file, backend, damage == "other-version" ? 2 : image.BackendFormatVersion, image.Source);
        foreach (ModelImageSection section in image.Sections)
        {
            byte[] bytes = image.GetSpan<byte>(section with { ElementSize = 1 }).ToArray();
            int elementSize = section.ElementSize;
            switch (damage, section.Name)
            {
                case ("missing-table", "fasttext.table"):
                case ("missing-tree", "fasttext.tree"):
                    continue;
                case ("table-as-bytes", "fasttext.table"):
                    elementSize = 1;
                    break;
                case ("slot-out-of-range", "fasttext.table"):
                    MemoryMarshal.Cast<byte, int>(bytes.AsSpan())[0] = 1_000_000;
                    break;
                case ("table-full", "fasttext.table"):
                    Span<int> slots = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
                    slots.Replace(-1, 0);
                    break;
                case ("table-not-power-of-two", "fasttext.table"):
                    bytes = bytes[..^4];
                    break;
                case ("entry-outside-strings", "fasttext.entries"):
                    MemoryMarshal.Cast<byte, int>(bytes.AsSpan())[0] = 1 << 30;
                    break;
                case ("bad-loss", "fasttext.args"):
                    MemoryMarshal.Cast<byte, int>(bytes.AsSpan())[7] = 9;
                    break;
                case ("bad-counts", "fasttext.args"):
                    MemoryMarshal.Cast<byte, int>(bytes.AsSpan())[14] += 1;
                    break;
                case ("short-input", "fasttext.input"):
                    bytes = bytes[..^4];
                    break;
                case ("tree-cycle", "fasttext.tree"):
                    Span<int> cycle = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
                    cycle[^2] = (cycle.Length / 2) - 1; // the root's left child is the root
                    break;
                case ("tree-shared-child", "fasttext.tree"):
                    Span<int> shared = MemoryMarshal.Cast<byte, int>(bytes.AsSpan());
                    shared[^1] = shared[^2]; // both children of the root are the same node
                    break;
            }

            writer.BeginSection(section.Name, elementSize, section.Flags);
            writer.Write(bytes);
            writer.EndSection();
        }

        writer.Complete();
    }
}
