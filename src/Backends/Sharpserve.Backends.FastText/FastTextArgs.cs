namespace Sharpserve.Backends.FastText;

/// <summary>
/// The training arguments stored in a fastText file (src/args.cc <c>Args::load</c>), after the load-time quirks
/// (version 11 supervised models have <see cref="MaxN"/> forced to 0). The label prefix is not stored: it is
/// always <c>__label__</c> at predict time.
/// </summary>
public sealed class FastTextArgs
{
    public required int Version { get; init; }

    public required int Dim { get; init; }

    public required int WindowSize { get; init; }

    public required int Epoch { get; init; }

    public required int MinCount { get; init; }

    public required int Neg { get; init; }

    public required int WordNgrams { get; init; }

    public required FastTextLoss Loss { get; init; }

    /// <summary>Model kind: 1 = cbow, 2 = skipgram, 3 = supervised (the only one that predicts).</summary>
    public required int Model { get; init; }

    public required int Bucket { get; init; }

    public required int MinN { get; init; }

    public required int MaxN { get; init; }

    public required int LrUpdateRate { get; init; }

    /// <summary>Sampling threshold <c>t</c>.</summary>
    public required double SamplingThreshold { get; init; }
}
