using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText;

internal sealed partial class FastTextSourceFile
{
    // Smallest dictionary entry: empty word + NUL, int64 count, int8 type.
    private const int MinEntryBytes = 10;

    // Keeps the lookup table (1.5 x size ints, rounded up to a power of two) within array limits.
    private const int MaxDictionarySize = 1 << 28;

    /// <summary>
    /// Maps and validates a model file. Every read is bounds-checked; any problem throws
    /// <see cref="ModelLoadException"/> naming the file and the problem.
    /// </summary>
    public static FastTextSourceFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string fileName = Path.GetFileName(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new ModelLoadException($"{fileName}: fastText files are little-endian raw memory dumps; this platform is big-endian");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException($"{fileName}: cannot open the file: {e.Message}", e);
        }

        FastTextMappedFile? file = null;
        try
        {
            if (stream.Length == 0)
            {
                throw new ModelLoadException($"{fileName}: the file is empty");
            }

            file = FastTextMappedFile.Open(stream);
            return Parse(file, fileName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Release(stream, file);
            throw new ModelLoadException($"{fileName}: cannot map the file: {e.Message}", e);
        }
        catch
        {
            Release(stream, file);
            throw;
        }
    }

    private static void Release(FileStream stream, FastTextMappedFile? file)
    {
        if (file is null)
        {
            stream.Dispose();
        }
        else
        {
            file.Dispose();
        }
    }

    private static FastTextSourceFile Parse(FastTextMappedFile file, string fileName)
    {
        var reader = new FastTextFileReader(file, fileName);
        FastTextArgs args = ReadArgs(reader);
        (long[] offsets, int[] lengths, int wordCount, long[] labelCounts, long tokenCount) = ReadDictionary(reader, out long pruneIndexSize);

        reader.BeginSection("the input matrix header");
        ReadQuantizationFlag(reader, "quant_input");
        if (pruneIndexSize >= 0)
        {
            throw reader.Invalid(
                $"the dictionary is pruned (pruneidx_size = {pruneIndexSize}) but the input matrix is not quantized; fastText refuses such files too");
        }

        (long inputOffset, int inputRows) = ReadMatrix(reader, "input", (long)wordCount + args.Bucket, "nwords + bucket", args.Dim);

        reader.BeginSection("the output matrix header");
        ReadQuantizationFlag(reader, "qout");
        (long outputOffset, int outputRows) = ReadMatrix(reader, "output", labelCounts.Length, "nlabels", args.Dim);

        if (reader.Remaining != 0)
        {
            throw reader.Invalid(
                $"{reader.Remaining} trailing bytes after the output matrix (it ends at byte {reader.Position}, the file has {reader.Length} bytes)");
        }

        FastTextHuffmanTree? tree = null;
        if (args.Loss == FastTextLoss.HierarchicalSoftmax)
        {
            tree = FastTextHuffmanTree.TryBuild(labelCounts)
                ?? throw reader.Invalid("the label counts cannot form the hierarchical-softmax tree (a count is >= 1e15 or out of order)");
        }

        return new FastTextSourceFile(
            fileName, file, args, offsets, lengths, wordCount, labelCounts, tokenCount, inputOffset, inputRows, outputOffset, outputRows, tree);
    }

    private static FastTextArgs ReadArgs(FastTextFileReader reader)
    {
        reader.BeginSection("the file header");
        int magic = reader.ReadInt32();
        if (magic != FastTextModel.Magic)
        {
            throw reader.Invalid($"not a fastText model: magic number 0x{magic:X8}, expected 0x{FastTextModel.Magic:X8}");
        }

        int version = reader.ReadInt32();
        if (version > FastTextModel.MaxVersion)
        {
            throw reader.Invalid($"unsupported fastText file version {version}; this reader knows versions up to {FastTextModel.MaxVersion}");
        }

        reader.BeginSection("the training arguments");
        int dim = reader.ReadInt32();
        int ws = reader.ReadInt32();
        int epoch = reader.ReadInt32();
        int minCount = reader.ReadInt32();
        int neg = reader.ReadInt32();
        int wordNgrams = reader.ReadInt32();
        int loss = reader.ReadInt32();
        int model = reader.ReadInt32();
        int bucket = reader.ReadInt32();
        int minn = reader.ReadInt32();
        int maxn = reader.ReadInt32();
        int lrUpdateRate = reader.ReadInt32();
        double t = reader.ReadDouble();

        if (model != FastTextModel.SupervisedModel)
        {
            throw reader.Invalid($"model is not supervised (model = {model}; 1 = cbow and 2 = skipgram have no labels to predict)");
        }

        if (loss is < 1 or > 4)
        {
            throw reader.Invalid($"unknown loss {loss}; expected 1 (hs), 2 (ns), 3 (softmax) or 4 (ova)");
        }

        if (dim is <= 0 or > FastTextModel.MaxDim)
        {
            throw reader.Invalid($"dim {dim} is out of range; expected 1..{FastTextModel.MaxDim}");
        }

        if (bucket < 0)
        {
            throw reader.Invalid($"bucket {bucket} is negative");
        }

        // Version 11 supervised models predate char n-grams (src/fasttext.cc loadModel).
        if (version == 11)
        {
            maxn = 0;
        }

        if (bucket == 0 && (maxn > 0 || wordNgrams > 1))
        {
            throw reader.Invalid(
                $"bucket is 0 but the model uses n-grams (maxn = {maxn}, wordNgrams = {wordNgrams}); fastText would divide by zero");
        }

        return new FastTextArgs
        {
            Version = version,
            Dim = dim,
            WindowSize = ws,
            Epoch = epoch,
            MinCount = minCount,
            Neg = neg,
            WordNgrams = wordNgrams,
            Loss = (FastTextLoss)loss,
            Model = model,
            Bucket = bucket,
            MinN = minn,
            MaxN = maxn,
            LrUpdateRate = lrUpdateRate,
            SamplingThreshold = t,
        };
    }

    private static (long[] Offsets, int[] Lengths, int WordCount, long[] LabelCounts, long TokenCount) ReadDictionary(
        FastTextFileReader reader, out long pruneIndexSize)
    {
        reader.BeginSection("the dictionary header");
        int size = reader.ReadInt32();
        int nwords = reader.ReadInt32();
        int nlabels = reader.ReadInt32();
        long ntokens = reader.ReadInt64();
        pruneIndexSize = reader.ReadInt64();

        if (size < 0 || nwords < 0 || nlabels < 0)
        {
            throw reader.Invalid($"negative dictionary counts (size = {size}, nwords = {nwords}, nlabels = {nlabels})");
        }

        if (nlabels == 0)
        {
            throw reader.Invalid("the model has no labels (nlabels = 0)");
        }

        if ((long)nwords + nlabels != size)
        {
            throw reader.Invalid($"dictionary size {size} is not nwords + nlabels = {nwords} + {nlabels}");
        }

        if (ntokens < 0)
        {
            throw reader.Invalid($"ntokens {ntokens} is negative");
        }

        if (pruneIndexSize < -1)
        {
            throw reader.Invalid($"pruneidx_size {pruneIndexSize} is invalid; expected -1 (not pruned) or a count");
        }

        // Check the claim against the bytes left before allocating anything for it.
        reader.BeginSection("the dictionary");
        if ((long)size * MinEntryBytes > reader.Remaining)
        {
            throw reader.Truncated(
                $"its {size} entries need at least {(long)size * MinEntryBytes} bytes but only {reader.Remaining} remain after byte {reader.Position}");
        }

        if (size > MaxDictionarySize)
        {
            throw reader.Invalid($"the dictionary has {size} entries; at most {MaxDictionarySize} are supported");
        }

        var offsets = new long[size];
        var lengths = new int[size];
        var labelCounts = new long[nlabels];
        for (int i = 0; i < size; i++)
        {
            reader.SetEntry(i, size);
            reader.ReadNulTerminated(out offsets[i], out lengths[i]);
            long count = reader.ReadInt64();
            byte type = reader.ReadByte();
            if (type > 1)
            {
                throw reader.Invalid($"dictionary entry {i} of {size} has type {type}; expected 0 (word) or 1 (label)");
            }

            int expected = i < nwords ? 0 : 1;
            if (type != expected)
            {
                throw reader.Invalid(
                    $"dictionary entry {i} of {size} has type {type}, but entries 0..{nwords - 1} must be words (0) and {nwords}..{size - 1} labels (1)");
            }

            if (i >= nwords)
            {
                labelCounts[i - nwords] = count;
            }
        }

        if (pruneIndexSize > 0)
        {
            // Pairs of int32 (key, value). Only their extent matters: pruned files are refused after the flag.
            reader.BeginSection("the prune index");
            if (pruneIndexSize > reader.Remaining / 8)
            {
                throw reader.Truncated();
            }

            reader.Skip(pruneIndexSize * 8);
        }

        return (offsets, lengths, nwords, labelCounts, ntokens);
    }

    // A bool byte: 0 = dense matrix follows, 1 = quantized (.ftz), anything else is corrupt.
    private static void ReadQuantizationFlag(FastTextFileReader reader, string name)
    {
        byte flag = reader.ReadByte();
        if (flag == 1)
        {
            throw reader.Invalid(FastTextModel.QuantizedMessage);
        }

        if (flag != 0)
        {
            throw reader.Invalid($"the {name} flag at byte {reader.Position - 1} is {flag}; expected 0 or 1");
        }
    }

    private static (long Offset, int Rows) ReadMatrix(FastTextFileReader reader, string name, long expectedRows, string rowsMeaning, int dim)
    {
        long rows = reader.ReadInt64();
        long columns = reader.ReadInt64();
        if (columns != dim)
        {
            throw reader.Invalid($"the {name} matrix has {columns} columns but dim is {dim}");
        }

        if (rows != expectedRows)
        {
            throw reader.Invalid($"the {name} matrix has {rows} rows but {rowsMeaning} = {expectedRows}");
        }

        if (rows > int.MaxValue)
        {
            throw reader.Invalid($"the {name} matrix has {rows} rows; fastText addresses at most {int.MaxValue}");
        }

        // rows <= 2^31 and columns <= 2^16, so the byte count cannot overflow.
        reader.BeginSection($"the {name} matrix");
        long offset = reader.Position;
        reader.Skip(rows * columns * sizeof(float));
        return (offset, (int)rows);
    }
}
