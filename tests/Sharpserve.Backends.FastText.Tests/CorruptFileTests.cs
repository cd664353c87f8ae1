using System.Buffers.Binary;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText.Tests;

public sealed class CorruptFileTests : IDisposable
{
    private const string SourceModel = "hs-sharp";
    private readonly TempDirectory _temp = new();
    private readonly byte[] _original = File.ReadAllBytes(FastTextTestData.ModelPath(SourceModel));
    private readonly FastTextFileLayout _layout;

    public CorruptFileTests()
    {
        _layout = FastTextFileLayout.Read(_original);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Layout_OfTheSourceModel_EndsAtEndOfFile() => Assert.Equal(_original.Length, _layout.End);

    [Fact]
    public void Truncated_AtManyOffsets_ThrowsModelLoadException()
    {
        var offsets = new SortedSet<long>();
        // Every offset of the header and the start of the dictionary, then a dense sample of the dictionary.
        for (long i = 0; i < 2048; i++)
        {
            offsets.Add(i);
        }

        for (long i = 2048; i < _layout.QuantInput; i += 37)
        {
            offsets.Add(i);
        }

        // Every offset around the matrix headers and the end, and a spread across both matrices.
        foreach (long anchor in new[] { _layout.QuantInput, _layout.QuantOutput, _layout.End })
        {
            for (long i = anchor - 20; i <= anchor + 20; i++)
            {
                offsets.Add(i);
            }
        }

        for (long i = _layout.InputData; i < _layout.End; i += (_layout.End - _layout.InputData) / 150)
        {
            offsets.Add(i);
        }

        offsets.RemoveWhere(o => o < 0 || o >= _original.Length);
        string path = _temp.File("truncated.bin");
        foreach (long length in offsets)
        {
            File.WriteAllBytes(path, _original.AsSpan(0, (int)length).ToArray());
            var error = Assert.Throws<ModelLoadException>(() => FastTextModel.Open(path, "m").Dispose());
            Assert.StartsWith("truncated.bin: ", error.Message, StringComparison.Ordinal);
            if (length >= 8)
            {
                Assert.Contains($"truncated at byte {length} ", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Truncated_InTheDictionary_NamesTheEntry()
    {
        // Past the up-front size check (10 bytes per entry at least), so the failing read names its entry.
        const int Entry = 3000;
        long cut = _layout.EntryTypeOffsets[Entry];
        Assert.True(cut > FastTextFileLayout.FirstEntry + (_layout.EntryCount * 10L));
        string message = LoadError(_original.AsSpan(0, (int)cut).ToArray());
        Assert.Equal($"model.bin: truncated at byte {cut} while reading the dictionary (entry {Entry} of {_layout.EntryCount})", message);
    }

    [Fact]
    public void Truncated_BeforeTheDictionaryCouldFit_SaysHowMuchIsMissing()
    {
        string message = LoadError(_original.AsSpan(0, 500).ToArray());
        Assert.Equal(
            $"model.bin: truncated at byte 500 while reading the dictionary: its {_layout.EntryCount} entries need at least {_layout.EntryCount * 10} bytes but only 408 remain after byte 92",
            message);
    }

    [Fact]
    public void Truncated_InTheInputMatrix_SaysSo()
    {
        long cut = _layout.InputData + 1000;
        Assert.Equal($"model.bin: truncated at byte {cut} while reading the input matrix", LoadError(_original.AsSpan(0, (int)cut).ToArray()));
    }

    [Fact]
    public void QuantizedFtz_IsRefusedWithAClearMessage()
    {
        string path = Path.Combine(FastTextTestData.Directory, "models", "softmax-ng2.ftz");
        var error = Assert.Throws<ModelLoadException>(() => FastTextModel.Open(path, "m"));
        Assert.Equal("softmax-ng2.ftz: quantized fastText models (.ftz) are not supported yet; use the .bin", error.Message);
    }

    [Fact]
    public void EmptyFile_Throws() => Assert.Equal("model.bin: the file is empty", LoadError([]));

    [Fact]
    public void MissingFile_Throws()
    {
        var error = Assert.Throws<ModelLoadException>(() => FastTextModel.Open(_temp.File("missing.bin"), "m"));
        Assert.StartsWith("missing.bin: cannot open the file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextFile_IsNotAFastTextModel()
    {
        string message = LoadError("this is a text file, not a model\n"u8.ToArray());
        Assert.StartsWith("model.bin: not a fastText model: magic number 0x", message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrailingBytes_AreRefused()
    {
        byte[] file = [.. _original, 0, 0, 0];
        Assert.Equal(
            $"model.bin: 3 trailing bytes after the output matrix (it ends at byte {_original.Length}, the file has {_original.Length + 3} bytes)",
            LoadError(file));
    }

    public static TheoryData<string, long, long, string> HeaderCorruptions() => new()
    {
        { "magic", FastTextFileLayout.Magic, 0x12345678, "not a fastText model: magic number 0x12345678, expected 0x2F4F16BA" },
        { "version", FastTextFileLayout.Version, 13, "unsupported fastText file version 13" },
        { "version-huge", FastTextFileLayout.Version, int.MaxValue, "unsupported fastText file version" },
        { "model-cbow", FastTextFileLayout.Model, 1, "model is not supervised (model = 1" },
        { "model-skipgram", FastTextFileLayout.Model, 2, "model is not supervised (model = 2" },
        { "loss-0", FastTextFileLayout.Loss, 0, "unknown loss 0" },
        { "loss-5", FastTextFileLayout.Loss, 5, "unknown loss 5" },
        { "dim-0", FastTextFileLayout.Dim, 0, "dim 0 is out of range" },
        { "dim-negative", FastTextFileLayout.Dim, -8, "dim -8 is out of range" },
        { "dim-huge", FastTextFileLayout.Dim, int.MaxValue, "dim 2147483647 is out of range" },
        { "dim-other", FastTextFileLayout.Dim, 9, "the input matrix has 8 columns but dim is 9" },
        { "bucket-negative", FastTextFileLayout.Bucket, -1, "bucket -1 is negative" },
        { "bucket-other", FastTextFileLayout.Bucket, 5004, "the input matrix has" },
        { "bucket-zero-with-subwords", FastTextFileLayout.Bucket, 0, "bucket is 0 but the model uses n-grams" },
        { "size-huge", FastTextFileLayout.Size, int.MaxValue, "dictionary size 2147483647 is not nwords + nlabels" },
        { "size-negative", FastTextFileLayout.Size, -1, "negative dictionary counts" },
        { "nwords-huge", FastTextFileLayout.NWords, int.MaxValue, "is not nwords + nlabels" },
        { "nwords-negative", FastTextFileLayout.NWords, -3, "negative dictionary counts" },
        { "nlabels-zero", FastTextFileLayout.NLabels, 0, "the model has no labels (nlabels = 0)" },
        { "nlabels-huge", FastTextFileLayout.NLabels, int.MaxValue, "is not nwords + nlabels" },
        { "nlabels-negative", FastTextFileLayout.NLabels, -1, "negative dictionary counts" },
    };

    [Theory]
    [MemberData(nameof(HeaderCorruptions))]
    public void CorruptInt32HeaderField_IsRefused(string name, long offset, long value, string expected)
    {
        byte[] file = (byte[])_original.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan((int)offset), (int)value);
        string message = LoadError(file, name + ".bin");
        Assert.StartsWith(name + ".bin: ", message, StringComparison.Ordinal);
        Assert.Contains(expected, message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConsistentlyHugeDictionary_IsRefusedBeforeAllocating()
    {
        byte[] file = (byte[])_original.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(FastTextFileLayout.Size), int.MaxValue);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(FastTextFileLayout.NWords), int.MaxValue - 14);
        BinaryPrimitives.WriteInt32LittleEndian(file.AsSpan(FastTextFileLayout.NLabels), 14);
        Assert.Contains("its 2147483647 entries need at least 21474836470 bytes", LoadError(file), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1L, "ntokens -1 is negative")]
    [InlineData(long.MinValue, "ntokens -9223372036854775808 is negative")]
    public void CorruptNTokens_IsRefused(long value, string expected)
    {
        byte[] file = (byte[])_original.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(FastTextFileLayout.NTokens), value);
        Assert.Contains(expected, LoadError(file), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-2L, "pruneidx_size -2 is invalid")]
    [InlineData(long.MinValue, "pruneidx_size -9223372036854775808 is invalid")]
    [InlineData(0L, "the dictionary is pruned (pruneidx_size = 0) but the input matrix is not quantized")]
    [InlineData(long.MaxValue, "truncated at byte")]
    [InlineData(1L << 40, "truncated at byte")]
    public void CorruptPruneIndexSize_IsRefused(long value, string expected)
    {
        byte[] file = (byte[])_original.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(FastTextFileLayout.PruneIndexSize), value);
        Assert.Contains(expected, LoadError(file), StringComparison.Ordinal);
    }

    [Fact]
    public void SmallPruneIndex_IsRefused()
    {
        byte[] file = (byte[])_original.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan(FastTextFileLayout.PruneIndexSize), 3);
        LoadError(file);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(255)]
    public void EntryType_OutsideWordOrLabel_IsRefused(byte type)
    {
        byte[] file = (byte[])_original.Clone();
        file[_layout.EntryTypeOffsets[5]] = type;
        Assert.Contains($"dictionary entry 5 of {_layout.EntryCount} has type {type}; expected 0 (word) or 1 (label)", LoadError(file), StringComparison.Ordinal);
    }

    [Fact]
    public void LabelAmongWords_IsRefused()
    {
        byte[] file = (byte[])_original.Clone();
        file[_layout.EntryTypeOffsets[3]] = 1;
        Assert.Contains("dictionary entry 3 of", LoadError(file), StringComparison.Ordinal);
        Assert.Contains("must be words (0)", LoadError(file), StringComparison.Ordinal);
    }

    [Fact]
    public void WordAmongLabels_IsRefused()
    {
        byte[] file = (byte[])_original.Clone();
        file[_layout.EntryTypeOffsets[_layout.WordCount + 1]] = 0;
        Assert.Contains($"dictionary entry {_layout.WordCount + 1} of", LoadError(file), StringComparison.Ordinal);
    }

    [Fact]
    public void HuffmanTreeCycle_IsRefused()
    {
        byte[] file = (byte[])_original.Clone();
        for (int i = _layout.WordCount; i < _layout.EntryCount; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan((int)_layout.EntryCountOffsets[i]), 2_000_000_000_000_000L);
        }

        Assert.Contains("the label counts cannot form the hierarchical-softmax tree", LoadError(file), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("quant_input", 1, "quantized fastText models (.ftz) are not supported yet; use the .bin")]
    [InlineData("quant_input", 2, "the quant_input flag at byte")]
    [InlineData("qout", 1, "quantized fastText models (.ftz) are not supported yet; use the .bin")]
    [InlineData("qout", 7, "the qout flag at byte")]
    public void QuantizationFlags_AreChecked(string flag, byte value, string expected)
    {
        byte[] file = (byte[])_original.Clone();
        file[flag == "qout" ? _layout.QuantOutput : _layout.QuantInput] = value;
        Assert.Contains(expected, LoadError(file), StringComparison.Ordinal);
    }

    public static TheoryData<string, long, string> MatrixCorruptions() => new()
    {
        { "input-rows", long.MaxValue, "the input matrix has 9223372036854775807 rows but nwords + bucket = " },
        { "input-rows", -1, "the input matrix has -1 rows" },
        { "input-rows", 1, "the input matrix has 1 rows" },
        { "input-columns", long.MaxValue, "the input matrix has 9223372036854775807 columns but dim is 8" },
        { "input-columns", -8, "the input matrix has -8 columns but dim is 8" },
        { "input-columns", 0, "the input matrix has 0 columns" },
        { "output-rows", long.MaxValue, "the output matrix has 9223372036854775807 rows but nlabels = 14" },
        { "output-rows", -14, "the output matrix has -14 rows" },
        { "output-rows", 13, "the output matrix has 13 rows but nlabels = 14" },
        { "output-columns", 1L << 40, "the output matrix has 1099511627776 columns but dim is 8" },
        { "output-columns", -1, "the output matrix has -1 columns" },
    };

    [Theory]
    [MemberData(nameof(MatrixCorruptions))]
    public void CorruptMatrixDims_AreRefused(string field, long value, string expected)
    {
        byte[] file = (byte[])_original.Clone();
        long offset = field switch
        {
            "input-rows" => _layout.InputRows,
            "input-columns" => _layout.InputColumns,
            "output-rows" => _layout.OutputRows,
            _ => _layout.OutputColumns,
        };
        BinaryPrimitives.WriteInt64LittleEndian(file.AsSpan((int)offset), value);
        Assert.Contains(expected, LoadError(file), StringComparison.Ordinal);
    }

    [Fact]
    public void RandomByteCorruption_NeverThrowsAnythingButModelLoadException()
    {
        // Seeded fuzzing of the header, the dictionary and the matrix headers: a load either fails cleanly, with a
        // message naming the file and the problem, or yields a model whose warm-up requests run. Both outcomes
        // must occur (a loader refusing everything, or nothing, would pass a loop that checks neither).
        var random = new Random(12345);
        string path = _temp.File("fuzz.bin");
        long[] anchors = [_layout.QuantInput, _layout.QuantOutput];
        int accepted = 0;
        var refusals = new List<string>();
        for (int round = 0; round < 400; round++)
        {
            byte[] file = (byte[])_original.Clone();
            int flips = random.Next(1, 4);
            for (int f = 0; f < flips; f++)
            {
                int offset = random.Next(3) switch
                {
                    0 => random.Next(0, FastTextFileLayout.FirstEntry),
                    1 => random.Next(FastTextFileLayout.FirstEntry, (int)_layout.QuantInput),
                    _ => (int)anchors[random.Next(2)] + random.Next(0, 17),
                };
                file[offset] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, file);
            FastTextModel model;
            try
            {
                model = FastTextModel.Open(path, "fuzz");
            }
            catch (ModelLoadException ex)
            {
                Assert.StartsWith("fuzz.bin: ", ex.Message, StringComparison.Ordinal);
                Assert.True(ex.Message.Length > "fuzz.bin: ".Length + 10, $"round {round}: '{ex.Message}' does not say what is wrong");
                refusals.Add(ex.Message);
                continue;
            }

            using (model)
            {
                using IModelSession session = model.CreateSession();
                foreach (InferenceRequest request in model.WarmupRequests)
                {
                    InferResult result = session.Infer(request);
                    Assert.True(result.IsSuccess, $"round {round}: a model that loaded failed its warm-up: {result.Error?.Message}");
                }
            }

            accepted++;
        }

        Assert.True(accepted > 0, "every corrupted file was refused");
        Assert.True(refusals.Count > 0, "no corrupted file was refused");
        // The refusals name different problems (numbers aside), not one catch-all message.
        string[] kinds = [.. refusals.Select(m => new string([.. m.Where(c => !char.IsAsciiDigit(c))])).Distinct()];
        Assert.True(kinds.Length >= 3, string.Join("\n", kinds));
    }

    private string LoadError(byte[] file, string name = "model.bin")
    {
        string path = _temp.File(name);
        File.WriteAllBytes(path, file);
        var error = Assert.Throws<ModelLoadException>(() => FastTextModel.Open(path, "m").Dispose());
        Assert.StartsWith(name + ": ", error.Message, StringComparison.Ordinal);
        return error.Message;
    }
}
