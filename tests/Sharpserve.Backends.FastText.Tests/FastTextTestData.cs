namespace Sharpserve.Backends.FastText.Tests;

/// <summary>
/// Paths of the committed test models and golden outputs (made by tools/make-fasttext-test-models.sh), and of the
/// CLI's outputs for the sentences the session tests send (tools/make-sentence-golden.sh).
/// </summary>
internal static class FastTextTestData
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "fasttext");

    public static string InputPath => Path.Combine(Directory, "input.txt");

    public static string[] ModelNames { get; } =
        ["softmax-ng2", "softmax-default", "hs-sub", "hs-sharp", "ova-sub-ng3", "ns-sub-ng2", "hs-one-label"];

    public static string ModelPath(string name) => Path.Combine(Directory, "models", name + ".bin");

    public static string GoldenPath(string model, string caseName) => Path.Combine(Directory, "golden", $"{model}.{caseName}.txt");

    /// <summary>The cases of cases.txt: name, k and threshold.</summary>
    public static IReadOnlyList<(string Name, int K, float Threshold)> Cases() => ReadCases(Path.Combine(Directory, "cases.txt"));

    public static string SentencesDirectory => Path.Combine(Directory, "sentences");

    /// <summary>The lines of sentences/input.txt, each one input of the CLI (split on '\n' only, as fastText does).</summary>
    public static byte[][] Sentences()
    {
        byte[] input = File.ReadAllBytes(Path.Combine(SentencesDirectory, "input.txt"));
        var lines = new List<byte[]>();
        int start = 0;
        for (int i = 0; i < input.Length; i++)
        {
            if (input[i] == (byte)'\n')
            {
                lines.Add(input[start..i]);
                start = i + 1;
            }
        }

        return [.. lines];
    }

    /// <summary>The cases of sentences/cases.txt: name, k and threshold.</summary>
    public static IReadOnlyList<(string Name, int K, float Threshold)> SentenceCases() =>
        ReadCases(Path.Combine(SentencesDirectory, "cases.txt"));

    /// <summary>`fasttext predict-prob MODEL sentences/input.txt K [TH]`, one line per sentence.</summary>
    public static string[] SentenceGolden(string model, string caseName)
    {
        string text = File.ReadAllText(Path.Combine(SentencesDirectory, $"{model}.{caseName}.txt"));
        return text.EndsWith('\n') ? text[..^1].Split('\n') : text.Split('\n');
    }

    private static List<(string Name, int K, float Threshold)> ReadCases(string path)
    {
        var cases = new List<(string, int, float)>();
        foreach (string line in File.ReadAllLines(path))
        {
            string[] parts = line.Split(' ');
            float threshold = parts[2] == "-" ? 0f : float.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            cases.Add((parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), threshold));
        }

        return cases;
    }
}
