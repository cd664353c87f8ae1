using System.Globalization;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Formats a probability as fastText's CLI prints it: a float through ostream's default precision 6, i.e. C's
/// <c>%.6g</c> of the value widened to double. .NET's "G6" matches except for the exponent letter.
/// </summary>
internal static class FastTextProbabilityFormat
{
    public const int MaxLength = 32;

    public static int Format(float probability, Span<char> destination)
    {
        if (!((double)probability).TryFormat(destination, out int written, "G6", CultureInfo.InvariantCulture))
        {
            throw new ArgumentException("destination is too small", nameof(destination));
        }

        for (int i = 0; i < written; i++)
        {
            if (destination[i] == 'E')
            {
                destination[i] = 'e';
            }
        }

        return written;
    }
}
