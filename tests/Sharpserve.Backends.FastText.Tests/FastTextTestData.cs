namespace Sharpserve.Backends.FastText.Tests;

/// <summary>Paths of the committed test models and golden outputs (made by tools/make-fasttext-test-models.sh).</summary>
internal static class FastTextTestData
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "data", "fasttext");

    public static string InputPath => Path.Combine(Directory, "input.txt");

    public static string[] ModelNames { get; } =
        ["softmax-ng2", "softmax-default", "hs-sub", "hs-sharp", "ova-sub-ng3", "ns-sub-ng2", "hs-one-label"];

    public static string ModelPath(string name) => Path.Combine(Directory, "models", name + ".bin");

    public static string GoldenPath(string model, string caseName) => Path.Combine(Directory, "golden", $"{model}.{caseName}.txt");

    /// <summary>The cases of cases.txt: name, k and threshold.</summary>
    public static IReadOnlyList<(string Name, int K, float Threshold)> Cases()
    {
        var cases = new List<(string, int, float)>();
        foreach (string line in File.ReadAllLines(Path.Combine(Directory, "cases.txt")))
        {
            string[] parts = line.Split(' ');
            float threshold = parts[2] == "-" ? 0f : float.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            cases.Add((parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), threshold));
        }

        return cases;
    }
}
