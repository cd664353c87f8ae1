namespace Sharpserve.Backends.FastText;

/// <summary>
/// The hierarchical-softmax tree, rebuilt from the label counts exactly as src/loss.cc
/// <c>HierarchicalSoftmaxLoss::buildTree</c> does. Leaves are 0..n-1 (label indices); internal node v uses
/// output row v - n; the root is 2n-2.
/// </summary>
internal sealed class FastTextHuffmanTree
{
    private FastTextHuffmanTree(int[] left, int[] right, int leafCount)
    {
        Left = left;
        Right = right;
        LeafCount = leafCount;
    }

    /// <summary>Left child per node, -1 for leaves.</summary>
    public int[] Left { get; }

    /// <summary>Right child per node, -1 for leaves.</summary>
    public int[] Right { get; }

    public int LeafCount { get; }

    public int Root => (2 * LeafCount) - 2;

    /// <summary>
    /// Builds the tree, or returns null when the counts cannot form one: fastText then links a node to one that
    /// is not built yet (a cycle), which corrupt counts (for example >= 1e15) cause.
    /// </summary>
    public static FastTextHuffmanTree? TryBuild(ReadOnlySpan<long> counts)
    {
        int leafCount = counts.Length;
        int nodeCount = (2 * leafCount) - 1;
        var count = new long[nodeCount];
        var left = new int[nodeCount];
        var right = new int[nodeCount];
        Array.Fill(count, 1_000_000_000_000_000L);
        Array.Fill(left, -1);
        Array.Fill(right, -1);
        counts.CopyTo(count);

        int leaf = leafCount - 1;
        int node = leafCount;
        Span<int> picks = stackalloc int[2];
        for (int i = leafCount; i < nodeCount; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                // Strict '<': ties go to the internal node, as in fastText.
                if (leaf >= 0 && count[leaf] < count[node])
                {
                    picks[j] = leaf--;
                }
                else
                {
                    picks[j] = node++;
                }

                if (picks[j] >= i)
                {
                    return null;
                }
            }

            left[i] = picks[0];
            right[i] = picks[1];
            count[i] = unchecked(count[picks[0]] + count[picks[1]]);
        }

        return new FastTextHuffmanTree(left, right, leafCount);
    }
}
