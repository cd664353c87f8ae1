using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// A supervised fastText 0.9.2 model, served from its model image: the matrices, the dictionary's hash table and
/// the hierarchical-softmax tree are read in place from the image (a read-only mapping shared by every thread
/// and process), never copied to the managed heap. Safe to share across threads; each thread predicts through
/// its own <see cref="FastTextPredictor"/> or <see cref="FastTextSession"/>.
/// </summary>
public sealed partial class FastTextModel : IModel
{
    public const string Platform = "fasttext";

    private readonly ModelImage _image;
    private readonly ModelImageSection? _tree;
    private readonly string[] _labelNames;
    private readonly byte[][] _labelBytes;

    private FastTextModel(
        string modelName,
        ModelImage image,
        FastTextArgs args,
        FastTextDictionary dictionary,
        FastTextMatrix input,
        FastTextMatrix output,
        ModelImageSection? tree)
    {
        _image = image;
        Args = args;
        Dictionary = dictionary;
        Input = input;
        Output = output;
        _tree = tree;

        int labelCount = dictionary.LabelCount;
        _labelNames = new string[labelCount];
        _labelBytes = new byte[labelCount][];
        for (int i = 0; i < labelCount; i++)
        {
            _labelBytes[i] = dictionary.GetEntry(dictionary.WordCount + i).ToArray();
            _labelNames[i] = Encoding.UTF8.GetString(_labelBytes[i]);
        }

        Metadata = new ModelMetadata(
            modelName,
            Platform,
            [new TensorMetadata(FastTextSession.TextInputName, TensorDataType.Bytes, [-1])],
            [
                new TensorMetadata(FastTextSession.LabelOutputName, TensorDataType.Bytes, [-1, -1]),
                new TensorMetadata(FastTextSession.ProbabilityOutputName, TensorDataType.Fp32, [-1, -1]),
            ]);
        WarmupRequests = CreateWarmupRequests(dictionary);
    }

    public ModelMetadata Metadata { get; }

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    /// <summary>The image's length when it is a file mapping; 0 for an image built in memory by <see cref="Open"/>.</summary>
    public long MappedBytes => _image.IsMapped ? _image.Length : 0;

    /// <summary>The stored training arguments.</summary>
    public FastTextArgs Args { get; }

    /// <summary>Number of labels (output classes).</summary>
    public int LabelCount => _labelNames.Length;

    internal FastTextDictionary Dictionary { get; }

    internal FastTextMatrix Input { get; }

    internal FastTextMatrix Output { get; }

    /// <summary>True for hierarchical softmax, whose tree is in the image.</summary>
    internal bool HasTree => _tree.HasValue;

    /// <summary>The hierarchical-softmax tree: (left, right) per node, -1 for leaves; the root is the last node.</summary>
    internal ReadOnlySpan<int> TreeNodes => _image.GetSpan<int>(_tree!.Value);

    /// <summary>The label text, prefix included (e.g. <c>__label__en</c>), decoded as UTF-8.</summary>
    public string GetLabel(int labelIndex) => _labelNames[labelIndex];

    /// <summary>The label's raw bytes. Shared: callers must not modify the array.</summary>
    internal byte[] GetLabelBytes(int labelIndex) => _labelBytes[labelIndex];

    /// <summary>A new predictor for one thread.</summary>
    public FastTextPredictor CreatePredictor() => new(this);

    public IModelSession CreateSession() => new FastTextSession(this);

    /// <summary>Unmaps the image. No prediction may run during or after this call.</summary>
    public void Dispose() => _image.Dispose();

    // Realistic texts from the model's own words (so lookups hit and rows are touched), plus an unknown word
    // (so char n-grams and word n-grams run), with k = 1 and k = -1.
    private static InferenceRequest[] CreateWarmupRequests(FastTextDictionary dictionary)
    {
        var texts = new List<byte[]>();
        var builder = new List<byte>();
        int wordCount = dictionary.WordCount;
        int next = 0;
        for (int text = 0; text < 3; text++)
        {
            builder.Clear();
            for (int words = 0; words < 6 && next < wordCount; next++)
            {
                ReadOnlySpan<byte> word = dictionary.GetEntry(next);
                if (word.IsEmpty || word.SequenceEqual("</s>"u8) || word.Length > 64)
                {
                    continue;
                }

                builder.AddRange(word);
                builder.Add((byte)' ');
                words++;
            }

            builder.AddRange("sharpservewarmupoov"u8);
            texts.Add([.. builder]);
        }

        byte[][] elements = [.. texts];
        Tensor input = Tensor.FromBytes(FastTextSession.TextInputName, [elements.Length], elements);
        return
        [
            new InferenceRequest([input], new InferenceParameters(1, 0f)),
            new InferenceRequest([input], new InferenceParameters(-1, 0f)),
        ];
    }
}
