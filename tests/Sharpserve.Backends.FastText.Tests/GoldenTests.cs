using System.Globalization;
using Xunit.Abstractions;

namespace Sharpserve.Backends.FastText.Tests;

/// <summary>FastTextStreamPredictor against `fasttext predict-prob` (Debian fastText 0.9.2) on every test model.</summary>
public class GoldenTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> ModelCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in FastTextTestData.ModelNames)
        {
            foreach ((string name, _, _) in FastTextTestData.Cases())
            {
                data.Add(model, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ModelCases))]
    public void StreamPredictor_MatchesFastTextCli(string model, string caseName)
    {
        (_, int k, float threshold) = FindCase(caseName);
        string[] expected = ReadLines(File.ReadAllText(FastTextTestData.GoldenPath(model, caseName)));
        string[] actual = ReadLines(Predict(model, k, threshold));

        Assert.True(expected.Length == actual.Length, $"{model} {caseName}: {actual.Length} lines, the CLI printed {expected.Length}");
        int identical = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] == actual[i])
            {
                identical++;
                continue;
            }

            string? problem = CompareLine(expected[i], actual[i]);
            Assert.True(problem is null, $"{model} {caseName} line {i + 1}: {problem}\n  CLI:  {expected[i]}\n  ours: {actual[i]}");
        }

        output.WriteLine($"{model} {caseName}: {identical}/{expected.Length} lines byte-identical");
        Assert.True(identical >= expected.Length * 0.95, $"{model} {caseName}: only {identical}/{expected.Length} lines byte-identical");
    }

    internal static string Predict(string model, int k, float threshold)
    {
        using FastTextModel loaded = FastTextModel.Open(FastTextTestData.ModelPath(model), model);
        using FileStream input = File.OpenRead(FastTextTestData.InputPath);
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        FastTextStreamPredictor.Predict(loaded, input, writer, k, threshold);
        return writer.ToString();
    }

    private static (string Name, int K, float Threshold) FindCase(string caseName)
    {
        foreach ((string Name, int K, float Threshold) c in FastTextTestData.Cases())
        {
            if (c.Name == caseName)
            {
                return c;
            }
        }

        throw new InvalidOperationException(caseName);
    }

    // Lines of output that ends with '\n' (the final newline does not start another line).
    private static string[] ReadLines(string text)
    {
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    private static string? CompareLine(string expected, string actual)
    {
        string[] e = expected.Length == 0 ? [] : expected.Split(' ');
        string[] a = actual.Length == 0 ? [] : actual.Split(' ');
        if (e.Length != a.Length)
        {
            return $"{a.Length / 2} predictions, the CLI printed {e.Length / 2}";
        }

        for (int i = 0; i + 1 < e.Length; i += 2)
        {
            if (e[i] != a[i])
            {
                return $"prediction {(i / 2) + 1} is {a[i]}, the CLI printed {e[i]}";
            }

            double pe = double.Parse(e[i + 1], CultureInfo.InvariantCulture);
            double pa = double.Parse(a[i + 1], CultureInfo.InvariantCulture);
            if (Math.Abs(pe - pa) > 1e-4)
            {
                return $"probability of {e[i]} is {a[i + 1]}, the CLI printed {e[i + 1]}";
            }
        }

        return null;
    }
}
