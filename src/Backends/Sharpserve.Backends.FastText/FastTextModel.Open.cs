using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

public sealed partial class FastTextModel
{
    /// <summary>fastText's file magic (src/fasttext.cc), bytes BA 16 4F 2F.</summary>
    public const int Magic = 793712314;

    /// <summary>The newest file version this reader knows (fastText 0.9.x writes 12).</summary>
    public const int MaxVersion = 12;

    /// <summary>The largest dim we accept; real models use 10..300.</summary>
    public const int MaxDim = 1 << 16;

    internal const string QuantizedMessage = "quantized fastText models (.ftz) are not supported yet; use the .bin";

    /// <summary>Only supervised models (args.model == 3) predict labels.</summary>
    internal const int SupervisedModel = 3;

    /// <summary>
    /// Reads and validates a <c>.bin</c> and builds its image in memory (private to this process, not a shared
    /// mapping; the <c>.bin</c> is closed before this returns). For tests, tools and small models: the server
    /// prepares a cached image file once and opens it with <see cref="OpenImage"/>.
    /// </summary>
    /// <exception cref="ModelLoadException">The file is unusable; the message names it and the problem.</exception>
    public static FastTextModel Open(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(modelName);
        using var buffer = new MemoryStream();
        using (FastTextSourceFile source = FastTextSourceFile.Open(path))
        {
            var writer = new ModelImageWriter(
                buffer, FastTextBackend.BackendName, FastTextImageLayout.FormatVersion, new ModelImageSource { Size = source.File.Length });
            FastTextImageWriter.Write(source, writer);
            writer.Complete();
        }

        return OpenImage(ModelImage.Load(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Path.GetFileName(path)), modelName);
    }

    /// <summary>
    /// Opens a model over a fastText image, reading its sections in place. Checks, without copying anything
    /// big: the backend and its format version, every section's presence and element size, the arguments, that
    /// every dictionary entry lies inside the string bytes and every table slot is empty or a valid id (so a
    /// lookup cannot leave the image or loop forever), the tree's shape, and the matrices' sizes. Takes
    /// ownership of <paramref name="image"/>: it is disposed with the model, or at once if this throws.
    /// </summary>
    /// <exception cref="ModelLoadException">The image is not a usable fastText image; the message names it.</exception>
    public static FastTextModel OpenImage(ModelImage image, string modelName)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(modelName);
        try
        {
            return Create(image, modelName);
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    private static FastTextModel Create(ModelImage image, string modelName)
    {
        if (image.BackendName != FastTextBackend.BackendName)
        {
            throw image.Invalid($"the image was written by the '{image.BackendName}' backend, not '{FastTextBackend.BackendName}'");
        }

        if (image.BackendFormatVersion != FastTextImageLayout.FormatVersion)
        {
            throw image.Invalid(
                $"fastText image format version {image.BackendFormatVersion} is not supported; this build reads version {FastTextImageLayout.FormatVersion} (rebuild the image with 'sharpserve prepare')");
        }

        ModelImageSection argsSection = image.GetSection<FastTextImageArgs>(FastTextImageLayout.Args);
        if (argsSection.ElementCount != 1)
        {
            throw image.Invalid($"section '{FastTextImageLayout.Args}' holds {argsSection.ElementCount} elements; expected 1");
        }

        FastTextImageArgs stored = image.GetSpan<FastTextImageArgs>(argsSection)[0];
        FastTextArgs args = CheckArgs(image, stored);

        ModelImageSection entries = image.GetSection<FastTextImageEntry>(FastTextImageLayout.Entries);
        ModelImageSection strings = image.GetSection<byte>(FastTextImageLayout.Strings);
        ModelImageSection table = image.GetSection<int>(FastTextImageLayout.Table);
        CheckDictionary(image, stored, entries, strings, table);

        ModelImageSection? tree = null;
        if (args.Loss == FastTextLoss.HierarchicalSoftmax)
        {
            ModelImageSection treeSection = image.GetSection<int>(FastTextImageLayout.Tree);
            CheckTree(image, treeSection, stored.LabelCount);
            tree = treeSection;
        }

        ModelImageSection input = image.GetSection<float>(FastTextImageLayout.Input);
        ModelImageSection output = image.GetSection<float>(FastTextImageLayout.Output);
        long inputRows = (long)stored.WordCount + stored.Bucket;
        if (inputRows > int.MaxValue)
        {
            throw image.Invalid($"the input matrix has {inputRows} rows; fastText addresses at most {int.MaxValue}");
        }

        CheckMatrix(image, input, inputRows, stored.Dim, "nwords + bucket");
        CheckMatrix(image, output, stored.LabelCount, stored.Dim, "nlabels");

        var dictionary = new FastTextDictionary(image, entries, strings, table, stored.WordCount);
        return new FastTextModel(
            modelName,
            image,
            args,
            dictionary,
            new FastTextMatrix(image, input, (int)inputRows, stored.Dim),
            new FastTextMatrix(image, output, stored.LabelCount, stored.Dim),
            tree);
    }

    // The same rules as the .bin reader, so an image can never describe a model the .bin reader would refuse.
    private static FastTextArgs CheckArgs(ModelImage image, in FastTextImageArgs a)
    {
        if (a.Model != SupervisedModel || a.Loss is < 1 or > 4 || a.Dim is <= 0 or > MaxDim || a.Bucket < 0 ||
            (a.Bucket == 0 && (a.MaxN > 0 || a.WordNgrams > 1)))
        {
            throw image.Invalid(
                $"the stored arguments are invalid (model {a.Model}, loss {a.Loss}, dim {a.Dim}, bucket {a.Bucket}, maxn {a.MaxN}, wordNgrams {a.WordNgrams})");
        }

        if (a.WordCount < 0 || a.LabelCount <= 0 || (long)a.WordCount + a.LabelCount != a.EntryCount)
        {
            throw image.Invalid($"the dictionary counts are inconsistent (size {a.EntryCount}, nwords {a.WordCount}, nlabels {a.LabelCount})");
        }

        return new FastTextArgs
        {
            Version = a.Version,
            Dim = a.Dim,
            WindowSize = a.WindowSize,
            Epoch = a.Epoch,
            MinCount = a.MinCount,
            Neg = a.Neg,
            WordNgrams = a.WordNgrams,
            Loss = (FastTextLoss)a.Loss,
            Model = a.Model,
            Bucket = a.Bucket,
            MinN = a.MinN,
            MaxN = a.MaxN,
            LrUpdateRate = a.LrUpdateRate,
            SamplingThreshold = a.SamplingThreshold,
        };
    }

    private static void CheckDictionary(
        ModelImage image, in FastTextImageArgs args, in ModelImageSection entriesSection, in ModelImageSection stringsSection, in ModelImageSection tableSection)
    {
        if (entriesSection.ElementCount != args.EntryCount)
        {
            throw image.Invalid($"section '{FastTextImageLayout.Entries}' holds {entriesSection.ElementCount} entries; the arguments say {args.EntryCount}");
        }

        ReadOnlySpan<FastTextImageEntry> entries = image.GetSpan<FastTextImageEntry>(entriesSection);
        int stringBytes = image.GetSpan<byte>(stringsSection).Length;
        for (int id = 0; id < entries.Length; id++)
        {
            FastTextImageEntry entry = entries[id];
            if (entry.Offset < 0 || entry.Length < 0 || entry.Length > stringBytes - entry.Offset)
            {
                throw image.Invalid(
                    $"dictionary entry {id} of {entries.Length} ([{entry.Offset}, +{entry.Length})) lies outside the {stringBytes} string bytes");
            }
        }

        ReadOnlySpan<int> table = image.GetSpan<int>(tableSection);
        if (table.Length < 16 || !int.IsPow2(table.Length) || table.Length <= entries.Length)
        {
            throw image.Invalid($"the dictionary table has {table.Length} slots; expected a power of two of at least 16 and more than {entries.Length}");
        }

        int empty = 0;
        for (int slot = 0; slot < table.Length; slot++)
        {
            int id = table[slot];
            if (id < -1 || id >= entries.Length)
            {
                throw image.Invalid($"dictionary table slot {slot} holds {id}; expected -1 or an entry id below {entries.Length}");
            }

            if (id == -1)
            {
                empty++;
            }
        }

        // Probing stops at an empty slot; the writer keeps at least a third of them empty.
        if (empty == 0)
        {
            throw image.Invalid("the dictionary table has no empty slot");
        }
    }

    // Each internal node's children are earlier nodes and every node but the root has exactly one parent, so the
    // walk from the root ends and visits each node once (its stack never exceeds 2 x nlabels).
    private static void CheckTree(ModelImage image, in ModelImageSection section, int labelCount)
    {
        ReadOnlySpan<int> nodes = image.GetSpan<int>(section);
        int nodeCount = (2 * labelCount) - 1;
        if (nodes.Length != 2 * nodeCount)
        {
            throw image.Invalid($"the hierarchical-softmax tree has {nodes.Length / 2} nodes; {labelCount} labels need {nodeCount}");
        }

        var parents = new byte[nodeCount];
        for (int node = 0; node < nodeCount; node++)
        {
            int left = nodes[2 * node];
            int right = nodes[(2 * node) + 1];
            bool valid = node < labelCount
                ? left == -1 && right == -1
                : (uint)left < (uint)node && (uint)right < (uint)node && left != right && parents[left]++ == 0 && parents[right]++ == 0;
            if (!valid)
            {
                throw image.Invalid($"the hierarchical-softmax tree is malformed at node {node}");
            }
        }
    }

    private static void CheckMatrix(ModelImage image, in ModelImageSection section, long rows, int dim, string rowsMeaning)
    {
        long expected = rows * dim;
        if (section.ElementCount != expected)
        {
            throw image.Invalid($"section '{section.Name}' holds {section.ElementCount} floats; {rowsMeaning} ({rows}) x dim ({dim}) = {expected}");
        }
    }
}
