namespace Sharpserve.Backends.FastText.Tests;

public class FastTextPrimitivesTests
{
    [Fact]
    public void Hash_OfEmpty_IsTheFnvOffsetBasis() => Assert.Equal(2166136261u, FastTextHash.Hash([]));

    [Fact]
    public void Hash_SignExtendsHighBytes()
    {
        uint expected = unchecked((2166136261u ^ 0xFFFFFF80u) * 16777619u);
        Assert.Equal(expected, FastTextHash.Hash([0x80]));
        Assert.Equal(unchecked((2166136261u ^ 0x61u) * 16777619u), FastTextHash.Hash("a"u8));
    }

    [Theory]
    [InlineData(1e-05f, "1e-05")]
    [InlineData(1.00001f, "1.00001")]
    [InlineData(1f, "1")]
    [InlineData(0.5f, "0.5")]
    [InlineData(0.0001f, "0.0001")]
    [InlineData(2.7961e-05f, "2.7961e-05")]
    [InlineData(0.437953f, "0.437953")]
    public void ProbabilityFormat_MatchesPrintfG6(float value, string expected)
    {
        Span<char> buffer = stackalloc char[FastTextProbabilityFormat.MaxLength];
        Assert.Equal(expected, new string(buffer[..FastTextProbabilityFormat.Format(value, buffer)]));
    }

    [Fact]
    public void TopKHeap_SortsDescending()
    {
        var random = new Random(3);
        var heap = new FastTextScoredLabel[50];
        int count = 0;
        for (int i = 0; i < 50; i++)
        {
            heap[count++] = new FastTextScoredLabel(random.Next(10), i);
            FastTextTopKHeap.Push(heap, count);
        }

        FastTextTopKHeap.Sort(heap, count);
        for (int i = 1; i < count; i++)
        {
            Assert.True(heap[i - 1].Score >= heap[i].Score);
        }
    }

    [Fact]
    public void HuffmanTree_WithOneLabel_IsALeafRoot()
    {
        FastTextHuffmanTree tree = FastTextHuffmanTree.TryBuild([5])!;
        Assert.Equal(0, tree.Root);
        Assert.Equal(-1, tree.Left[0]);
    }

    [Fact]
    public void HuffmanTree_PairsTheSmallestCounts()
    {
        // Counts in file order (descending): leaves 2 and 3 join first.
        FastTextHuffmanTree tree = FastTextHuffmanTree.TryBuild([10, 5, 2, 1])!;
        Assert.Equal(6, tree.Root);
        Assert.Equal((3, 2), (tree.Left[4], tree.Right[4]));
        Assert.Equal((4, 1), (tree.Left[5], tree.Right[5]));
        Assert.Equal((5, 0), (tree.Left[6], tree.Right[6]));
    }

    [Fact]
    public void FloatVectors_AddAndMultiply_MatchScalarLoops()
    {
        var random = new Random(9);
        for (int length = 1; length < 40; length++)
        {
            var a = new float[length];
            var b = new float[length + 1];
            for (int i = 0; i < length; i++)
            {
                a[i] = (float)random.NextDouble();
                b[i + 1] = (float)random.NextDouble();
            }

            var expected = (float[])a.Clone();
            for (int i = 0; i < length; i++)
            {
                expected[i] = (expected[i] + b[i + 1]) * 0.3f;
            }

            // b is offset by one element so the source is not vector-aligned.
            FloatVectors.Add(a, b.AsSpan(1));
            FloatVectors.Multiply(a, 0.3f);
            Assert.Equal(expected, a);
        }
    }
}
