using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// <c>fasttext predict-prob MODEL INPUT K [TH]</c>: reads records from a byte stream exactly like fastText's
/// <c>predictLine</c> + <c>getLine</c> and prints one line per record. It streams: memory is bounded by the
/// longest token, not by the input.
/// </summary>
public static class FastTextStreamPredictor
{
    private static ReadOnlySpan<byte> EndOfSentence => "</s>"u8;

    /// <summary>
    /// Whether the models of <paramref name="backend"/> (the one a catalog picked for a file) are fastText models this
    /// predictor reads: asked before the file is prepared, since preparing another backend's model can be costly.
    /// </summary>
    public static bool Reads(IModelBackend backend) => backend is FastTextBackend;

    /// <summary>
    /// Predicts every record of <paramref name="input"/>. A record ends after a newline (which becomes
    /// <c>"&lt;/s&gt;"</c>), after a literal <c>"&lt;/s&gt;"</c> token, or at the end of the input (the last line
    /// without a newline gets no <c>"&lt;/s&gt;"</c>). Each output line is <c>label prob label prob ...</c>; a record
    /// without features prints an empty line.
    /// </summary>
    public static void Predict(FastTextModel model, Stream input, TextWriter output, int k, float threshold)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        if (k != -1 && k < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be -1 (all labels) or a positive integer");
        }

        FastTextPredictor predictor = model.CreatePredictor();
        var predictions = new FastTextPrediction[model.LabelCount];
        Span<char> number = stackalloc char[FastTextProbabilityFormat.MaxLength];
        using var reader = new FastTextTokenReader(input);
        while (reader.HasMoreData())
        {
            predictor.Reset();
            while (reader.TryReadToken(out ReadOnlySpan<byte> token))
            {
                predictor.AddToken(token);
                if (token.SequenceEqual(EndOfSentence))
                {
                    break;
                }
            }

            int count = predictor.Predict(k, threshold, predictions);
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    output.Write(' ');
                }

                output.Write(model.GetLabel(predictions[i].LabelIndex));
                output.Write(' ');
                output.Write(number[..FastTextProbabilityFormat.Format(predictions[i].Probability, number)]);
            }

            output.Write('\n');
        }
    }
}
