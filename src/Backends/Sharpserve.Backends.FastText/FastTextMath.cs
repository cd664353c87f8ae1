namespace Sharpserve.Backends.FastText;

/// <summary>
/// The scalar functions of fastText's predict path with its exact float/double mix (src/loss.cc). Math.Exp,
/// Math.Log and MathF.Exp call the C runtime's exp, log and expf on Linux, the functions fastText calls.
/// </summary>
internal static class FastTextMath
{
    private const int SigmoidTableSize = 512;
    private const float MaxSigmoid = 8f;

    // t_sigmoid_: 513 entries, table[i] = 1 / (1 + expf(-x_i)) computed in double and stored as float.
    private static readonly float[] s_sigmoidTable = CreateSigmoidTable();

    /// <summary><c>std_log</c>: <c>log(x + 1e-5)</c> in double, rounded to float.</summary>
    public static float StdLog(float x) => (float)Math.Log(x + 1e-5);

    /// <summary><c>Loss::sigmoid</c>: the lookup table used by one-vs-all and negative sampling.</summary>
    public static float TableSigmoid(float x)
    {
        if (x < -MaxSigmoid)
        {
            return 0f;
        }

        if (x > MaxSigmoid)
        {
            return 1f;
        }

        float position = (x + MaxSigmoid) * SigmoidTableSize / MaxSigmoid / 2;
        return s_sigmoidTable[(long)position];
    }

    /// <summary>The exact sigmoid of the hierarchical softmax: <c>1. / (1 + std::exp(-f))</c>.</summary>
    public static float ExactSigmoid(float x) => (float)(1.0 / (1f + MathF.Exp(-x)));

    /// <summary>Sequential float dot product in index order, as <c>DenseMatrix::dotRow</c> (no FMA, no reordering).</summary>
    public static float Dot(ReadOnlySpan<float> row, ReadOnlySpan<float> vector)
    {
        // The output side is small (one row per label), so it keeps fastText's exact summation order rather than
        // a vectorized sum, whose different rounding would move probabilities in the last digits.
        float sum = 0f;
        for (int i = 0; i < row.Length; i++)
        {
            sum += row[i] * vector[i];
        }

        return sum;
    }

    private static float[] CreateSigmoidTable()
    {
        var table = new float[SigmoidTableSize + 1];
        for (int i = 0; i < table.Length; i++)
        {
            float x = ((float)(i * 2 * (int)MaxSigmoid) / SigmoidTableSize) - MaxSigmoid;
            table[i] = (float)(1.0 / (1.0 + MathF.Exp(-x)));
        }

        return table;
    }
}
