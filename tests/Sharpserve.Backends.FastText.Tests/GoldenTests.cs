using System.Globalization;
using System.Text;

namespace Sharpserve.Backends.FastText.Tests;

/// <summary>FastTextStreamPredictor against `fasttext predict-prob` (Debian fastText 0.9.2) on every test model.</summary>
public class GoldenTests
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
        byte[] golden = File.ReadAllBytes(FastTextTestData.GoldenPath(model, caseName));
        string output = Predict(model, k, threshold);
        string[] expected = ReadLines(Encoding.UTF8.GetString(golden));
        string[] actual = ReadLines(output);

        // Every line is byte-identical to the CLI's: same labels, same order, same probability digits.
        Assert.True(expected.Length == actual.Length, $"{model} {caseName}: {actual.Length} lines, the CLI printed {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i] == actual[i], $"{model} {caseName} line {i + 1} differs\n  CLI:  {expected[i]}\n  ours: {actual[i]}");
        }

        Assert.Equal(golden, Encoding.UTF8.GetBytes(output));
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
}
