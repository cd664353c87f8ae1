namespace Sharpserve.Backends.FastText;

/// <summary>
/// Predicts labels for one record at a time, reproducing fastText 0.9.2's supervised <c>getLine</c> +
/// <c>predict</c> (src/dictionary.cc, src/model.cc, src/loss.cc). Feed tokens with <see cref="AddToken"/> or
/// <see cref="AddText"/>, then call <see cref="Predict"/>. One instance per thread; it is reusable and, once its
/// buffers have grown to the largest record seen, allocation-free.
/// </summary>
public sealed partial class FastTextPredictor
{
    private readonly FastTextDictionary _dictionary;
    private readonly FastTextMatrix _input;
    private readonly int _wordCount;
    private readonly uint _bucket;
    private readonly int _minN;
    private readonly int _maxN;
    private readonly int _wordNgrams;

    // Sum of the input rows of the token features added so far; Predict adds the word n-grams to a copy.
    private readonly float[] _sum;
    private long _featureCount;

    // int32 FNV hashes of the word tokens (in vocabulary or not), for word n-grams.
    private int[] _wordHashes = new int[64];
    private int _wordHashCount;

    // "<" + token + ">" for char n-grams.
    private byte[] _subwordBuffer = new byte[64];

    internal FastTextPredictor(FastTextModel model)
    {
        _dictionary = model.Dictionary;
        _input = model.Input;
        _output = model.Output;
        _model = model;
        _loss = model.Args.Loss;
        _labelCount = model.LabelCount;
        _wordCount = _dictionary.WordCount;
        _bucket = (uint)model.Args.Bucket;
        _minN = model.Args.MinN;
        _maxN = model.Args.MaxN;
        _wordNgrams = model.Args.WordNgrams;
        int dim = model.Args.Dim;
        _sum = new float[dim];
        _hidden = new float[dim];
        _scores = new float[_labelCount];
        _heap = new FastTextScoredLabel[_labelCount + 1];
        if (model.HasTree)
        {
            _treeStack = new int[2 * _labelCount];
            _treeStackScores = new float[2 * _labelCount];
        }
    }

    private static ReadOnlySpan<byte> EndOfSentence => "</s>"u8;

    private static ReadOnlySpan<byte> LabelPrefix => "__label__"u8;

    /// <summary>Starts a new record.</summary>
    public void Reset()
    {
        Array.Clear(_sum);
        _featureCount = 0;
        _wordHashCount = 0;
    }

    /// <summary>
    /// Adds one token with fastText's rules: a word in the vocabulary adds its row (and its char n-grams when the
    /// model has them); an unknown word adds only its char n-grams; every word, known or not, takes part in word
    /// n-grams; a label token (in the vocabulary, or any unknown token starting with <c>__label__</c>) is ignored.
    /// <c>"&lt;/s&gt;"</c> is an ordinary word here.
    /// </summary>
    public void AddToken(ReadOnlySpan<byte> token)
    {
        uint hash = FastTextHash.Hash(token);
        int id = _dictionary.Lookup(token, hash);
        if (id >= _wordCount)
        {
            return;
        }

        if (id >= 0)
        {
            AddFeature(id);
            if (_maxN > 0 && !token.SequenceEqual(EndOfSentence))
            {
                AddCharNgrams(token);
            }
        }
        else
        {
            if (token.StartsWith(LabelPrefix))
            {
                return;
            }

            if (_maxN > 0 && !token.SequenceEqual(EndOfSentence))
            {
                AddCharNgrams(token);
            }
        }

        if (_wordHashCount == _wordHashes.Length)
        {
            Array.Resize(ref _wordHashes, _wordHashes.Length * 2);
        }

        _wordHashes[_wordHashCount++] = unchecked((int)hash);
    }

    /// <summary>Adds the end-of-sentence token <c>"&lt;/s&gt;"</c>, as a newline does in fastText's reader.</summary>
    public void AddEndOfSentence() => AddToken(EndOfSentence);

    /// <summary>
    /// Splits <paramref name="utf8"/> on fastText's seven separator bytes (space, \n, \r, \t, \v, \f, NUL) and adds
    /// each token. A newline is only a separator here: it adds no <c>"&lt;/s&gt;"</c>.
    /// </summary>
    public void AddText(ReadOnlySpan<byte> utf8)
    {
        int start = 0;
        for (int i = 0; i < utf8.Length; i++)
        {
            if (IsSeparator(utf8[i]))
            {
                if (i > start)
                {
                    AddToken(utf8[start..i]);
                }

                start = i + 1;
            }
        }

        if (utf8.Length > start)
        {
            AddToken(utf8[start..]);
        }
    }

    /// <summary>True for the bytes that separate tokens in fastText's <c>readWord</c>.</summary>
    internal static bool IsSeparator(byte value) =>
        value is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t' or 0x0B or 0x0C or 0;

    private void AddFeature(int row)
    {
        FloatVectors.Add(_sum, _input.GetRow(row));
        _featureCount++;
    }

    // computeSubwords over "<" + token + ">": start positions skip UTF-8 continuation bytes; a "character" is a
    // byte plus the continuation bytes after it; lone "<" and ">" are never emitted.
    private void AddCharNgrams(ReadOnlySpan<byte> token)
    {
        int length = token.Length + 2;
        if (_subwordBuffer.Length < length)
        {
            _subwordBuffer = new byte[Math.Max(length, _subwordBuffer.Length * 2)];
        }

        Span<byte> word = _subwordBuffer.AsSpan(0, length);
        word[0] = (byte)'<';
        token.CopyTo(word[1..]);
        word[length - 1] = (byte)'>';

        for (int i = 0; i < length; i++)
        {
            if ((word[i] & 0xC0) == 0x80)
            {
                continue;
            }

            uint hash = FastTextHash.OffsetBasis;
            int j = i;
            for (int n = 1; j < length && n <= _maxN; n++)
            {
                hash = FastTextHash.Step(hash, word[j++]);
                while (j < length && (word[j] & 0xC0) == 0x80)
                {
                    hash = FastTextHash.Step(hash, word[j++]);
                }

                if (n >= _minN && !(n == 1 && (i == 0 || j == length)))
                {
                    AddFeature(_wordCount + (int)(hash % _bucket));
                }
            }
        }
    }
}
