namespace Sharpserve.Backends.FastText;

/// <summary>
/// libstdc++'s binary heap algorithms (<c>std::push_heap</c>, <c>std::pop_heap</c>, <c>std::sort_heap</c>,
/// bits/stl_heap.h) with fastText's comparator <c>a.Score &gt; b.Score</c> (a min-heap on score). They are
/// written out literally because the order of equal scores in fastText's output is whatever these produce.
/// </summary>
internal static class FastTextTopKHeap
{
    /// <summary><c>std::push_heap</c>: the new element is already at <c>heap[length - 1]</c>.</summary>
    public static void Push(Span<FastTextScoredLabel> heap, int length) =>
        PushUp(heap, length - 1, 0, heap[length - 1]);

    /// <summary><c>std::pop_heap</c> over [0, length): the front moves to <c>heap[length - 1]</c>.</summary>
    public static void Pop(Span<FastTextScoredLabel> heap, int length)
    {
        if (length > 1)
        {
            int last = length - 1;
            FastTextScoredLabel value = heap[last];
            heap[last] = heap[0];
            Adjust(heap, 0, last, value);
        }
    }

    /// <summary><c>std::sort_heap</c>: the result is in descending score order.</summary>
    public static void Sort(Span<FastTextScoredLabel> heap, int length)
    {
        while (length > 1)
        {
            Pop(heap, length);
            length--;
        }
    }

    private static bool Compare(FastTextScoredLabel a, FastTextScoredLabel b) => a.Score > b.Score;

    // __push_heap
    private static void PushUp(Span<FastTextScoredLabel> heap, int hole, int top, FastTextScoredLabel value)
    {
        int parent = (hole - 1) / 2;
        while (hole > top && Compare(heap[parent], value))
        {
            heap[hole] = heap[parent];
            hole = parent;
            parent = (hole - 1) / 2;
        }

        heap[hole] = value;
    }

    // __adjust_heap
    private static void Adjust(Span<FastTextScoredLabel> heap, int hole, int length, FastTextScoredLabel value)
    {
        int top = hole;
        int child = hole;
        while (child < (length - 1) / 2)
        {
            child = 2 * (child + 1);
            if (Compare(heap[child], heap[child - 1]))
            {
                child--;
            }

            heap[hole] = heap[child];
            hole = child;
        }

        if ((length & 1) == 0 && child == (length - 2) / 2)
        {
            child = 2 * (child + 1);
            heap[hole] = heap[child - 1];
            hole = child - 1;
        }

        PushUp(heap, hole, top, value);
    }
}
