namespace Sharpserve.Backends.FastText;

public sealed partial class FastTextPredictor
{
    private readonly FastTextMatrix _output;
    private readonly FastTextModel _model;
    private readonly FastTextLoss _loss;
    private readonly int _labelCount;
    private readonly float[] _hidden;
    private readonly float[] _scores;
    private readonly FastTextScoredLabel[] _heap;

    // Explicit depth-first stack for the hierarchical softmax (a degenerate tree is as deep as the label count).
    private readonly int[]? _treeStack;
    private readonly float[]? _treeStackScores;

    /// <summary>
    /// Predicts the labels of the current record in fastText's exact order (descending probability, ties as
    /// libstdc++'s heap leaves them) and writes them to <paramref name="destination"/>. Does not change the
    /// record, so it can be called again with other parameters.
    /// </summary>
    /// <param name="k">How many labels at most; -1 means all labels.</param>
    /// <param name="threshold">Labels with a probability below this are dropped.</param>
    /// <param name="destination">Room for at least min(k, LabelCount) predictions (LabelCount when k is -1).</param>
    /// <returns>The number of predictions written: 0 when the record has no feature.</returns>
    /// <exception cref="InvalidDataException">The model produced NaN (its weights are corrupt).</exception>
    public int Predict(int k, float threshold, Span<FastTextPrediction> destination)
    {
        if (k == -1)
        {
            k = _labelCount;
        }
        else if (k <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, "k must be -1 (all labels) or a positive integer");
        }

        if (destination.Length < Math.Min(k, _labelCount))
        {
            throw new ArgumentException($"destination has room for {destination.Length} predictions, {Math.Min(k, _labelCount)} needed", nameof(destination));
        }

        Span<float> hidden = _hidden;
        _sum.CopyTo(hidden);
        long count = _featureCount + AddWordNgrams(hidden);
        if (count == 0)
        {
            return 0;
        }

        // computeHidden: the reciprocal is computed in double, rounded to float, then multiplied.
        FloatVectors.Multiply(hidden, (float)(1.0 / count));

        int heapCount = _treeStack is null ? FindKBest(k, threshold, hidden) : SearchTree(k, threshold, hidden, _model.TreeNodes);
        FastTextTopKHeap.Sort(_heap, heapCount);
        for (int i = 0; i < heapCount; i++)
        {
            destination[i] = new FastTextPrediction(_heap[i].Label, MathF.Exp(_heap[i].Score));
        }

        return heapCount;
    }

    // addWordNgrams: int32 hashes sign-extended to uint64, wrapping arithmetic, modulo bucket.
    private long AddWordNgrams(Span<float> hidden)
    {
        if (_wordNgrams <= 1)
        {
            return 0;
        }

        long added = 0;
        ReadOnlySpan<int> hashes = _wordHashes.AsSpan(0, _wordHashCount);
        for (int i = 0; i < hashes.Length; i++)
        {
            ulong h = unchecked((ulong)(long)hashes[i]);
            long end = Math.Min(hashes.Length, (long)i + _wordNgrams);
            for (int j = i + 1; j < end; j++)
            {
                h = unchecked((h * 116049371) + (ulong)(long)hashes[j]);
                FloatVectors.Add(hidden, _input.GetRow(_wordCount + (int)(h % _bucket)));
                added++;
            }
        }

        return added;
    }

    // Loss::predict for softmax, one-vs-all and negative sampling: computeOutput, then findKBest.
    private int FindKBest(int k, float threshold, ReadOnlySpan<float> hidden)
    {
        Span<float> scores = _scores;
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = CheckedDot(_output.GetRow(i), hidden);
        }

        if (_loss == FastTextLoss.Softmax)
        {
            float max = scores[0];
            for (int i = 0; i < scores.Length; i++)
            {
                max = scores[i] < max ? max : scores[i];
            }

            float z = 0f;
            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] = (float)Math.Exp(scores[i] - max);
                z += scores[i];
            }

            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] /= z;
            }
        }
        else
        {
            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] = FastTextMath.TableSigmoid(scores[i]);
            }
        }

        Span<FastTextScoredLabel> heap = _heap;
        int count = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (scores[i] < threshold)
            {
                continue;
            }

            float score = FastTextMath.StdLog(scores[i]);
            if (count == k && score < heap[0].Score)
            {
                continue;
            }

            count = PushCandidate(heap, count, k, new FastTextScoredLabel(score, i));
        }

        return count;
    }

    // HierarchicalSoftmaxLoss::dfs as an explicit pre-order walk: a node's checks see the same heap as in the
    // recursive version because the visit order is the same (left subtree before right).
    // The tree is (left, right) per node, read in place from the image; the root is the last node.
    private int SearchTree(int k, float threshold, ReadOnlySpan<float> hidden, ReadOnlySpan<int> tree)
    {
        int[] nodes = _treeStack!;
        float[] scores = _treeStackScores!;
        Span<FastTextScoredLabel> heap = _heap;
        float logThreshold = FastTextMath.StdLog(threshold);
        int count = 0;
        int depth = 0;
        nodes[0] = (tree.Length / 2) - 1;
        scores[0] = 0f;
        depth = 1;
        while (depth > 0)
        {
            depth--;
            int node = nodes[depth];
            float score = scores[depth];
            if (score < logThreshold)
            {
                continue;
            }

            if (count == k && score < heap[0].Score)
            {
                continue;
            }

            int left = tree[2 * node];
            int right = tree[(2 * node) + 1];
            if (left == -1 && right == -1)
            {
                count = PushCandidate(heap, count, k, new FastTextScoredLabel(score, node));
                continue;
            }

            float f = FastTextMath.ExactSigmoid(CheckedDot(_output.GetRow(node - _labelCount), hidden));
            nodes[depth] = right;
            scores[depth] = score + FastTextMath.StdLog(f);
            nodes[depth + 1] = left;
            scores[depth + 1] = score + FastTextMath.StdLog((float)(1.0 - f));
            depth += 2;
        }

        return count;
    }

    private static int PushCandidate(Span<FastTextScoredLabel> heap, int count, int k, FastTextScoredLabel candidate)
    {
        heap[count++] = candidate;
        FastTextTopKHeap.Push(heap, count);
        if (count > k)
        {
            FastTextTopKHeap.Pop(heap, count);
            count--;
        }

        return count;
    }

    private static float CheckedDot(ReadOnlySpan<float> row, ReadOnlySpan<float> hidden)
    {
        float dot = FastTextMath.Dot(row, hidden);
        if (float.IsNaN(dot))
        {
            ThrowNaN();
        }

        return dot;
    }

    private static void ThrowNaN() =>
        throw new InvalidDataException("the model produced NaN; its weights are corrupt (fastText fails the same way)");
}
