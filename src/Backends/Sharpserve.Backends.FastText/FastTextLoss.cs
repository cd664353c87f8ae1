namespace Sharpserve.Backends.FastText;

/// <summary>The loss a fastText model was trained with (src/args.h <c>loss_name</c>); it selects the predict path.</summary>
public enum FastTextLoss
{
    /// <summary>Hierarchical softmax over a Huffman tree of the labels.</summary>
    HierarchicalSoftmax = 1,

    /// <summary>Negative sampling; predicts like <see cref="OneVsAll"/>.</summary>
    NegativeSampling = 2,

    /// <summary>Full softmax.</summary>
    Softmax = 3,

    /// <summary>Independent binary logistic per label.</summary>
    OneVsAll = 4,
}
