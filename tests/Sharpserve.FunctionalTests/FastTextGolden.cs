using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// What Debian's fastText CLI answers for the sentences the server tests send (data/fasttext/sentences, made by
/// tools/make-sentence-golden.sh): `fasttext predict-prob MODEL input.txt K [TH]`, one line per sentence. Model
/// "langid" is the demo model. Answers are compared as the CLI prints them: labels, order and probability digits.
/// </summary>
internal static class FastTextGolden
{
    private static string Directory => TestServer.DataPath("fasttext", "sentences");

    /// <summary>The sentences of input.txt (split on '\n' only, as fastText does), each one input.</summary>
    public static string[] Sentences()
    {
        string text = File.ReadAllText(Path.Combine(Directory, "input.txt"), Encoding.UTF8);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    /// <summary>The CLI's output lines for every sentence, in order.</summary>
    public static string[] Lines(string model, string caseName)
    {
        string text = File.ReadAllText(Path.Combine(Directory, $"{model}.{caseName}.txt"), Encoding.UTF8);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return text[..^1].Split('\n');
    }

    /// <summary>The CLI's line for <paramref name="sentence"/>, which must be one of <see cref="Sentences"/>.</summary>
    public static string Line(string model, string caseName, string sentence)
    {
        int index = Array.IndexOf(Sentences(), sentence);
        Assert.True(index >= 0, $"'{sentence}' is not in data/fasttext/sentences/input.txt (add it in tools/make-sentence-golden.sh)");
        return Lines(model, caseName)[index];
    }

    /// <summary>A probability as the CLI prints it: the float through C's %.6g.</summary>
    public static string Format(float probability) =>
        ((double)probability).ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e');

    /// <summary>A /labelservice/ JSON answer ({"labels": [...], "probabilities": [...]}) as the CLI's line.</summary>
    public static string AsCliLine(JsonElement answer)
    {
        JsonElement labels = answer.GetProperty("labels");
        JsonElement probabilities = answer.GetProperty("probabilities");
        Assert.Equal(labels.GetArrayLength(), probabilities.GetArrayLength());
        var line = new StringBuilder();
        for (int i = 0; i < labels.GetArrayLength(); i++)
        {
            line.Append(i == 0 ? "" : " ").Append(labels[i].GetString()).Append(' ').Append(Format(probabilities[i].GetSingle()));
        }

        return line.ToString();
    }

    /// <summary>
    /// Row <paramref name="row"/> of an OIP fastText answer (outputs "label" and "probability", shape [N, K]) as the
    /// CLI's line; the padding (empty labels with probability 0) is not part of it.
    /// </summary>
    public static string AsCliLine(JsonElement outputs, int row)
    {
        JsonElement labels = outputs[0];
        JsonElement probabilities = outputs[1];
        Assert.Equal("label", labels.GetProperty("name").GetString());
        Assert.Equal("probability", probabilities.GetProperty("name").GetString());
        int width = labels.GetProperty("shape")[1].GetInt32();
        var line = new StringBuilder();
        bool padding = false;
        for (int i = 0; i < width; i++)
        {
            string label = labels.GetProperty("data")[(row * width) + i].GetString()!;
            float probability = probabilities.GetProperty("data")[(row * width) + i].GetSingle();
            padding |= label.Length == 0;
            if (padding)
            {
                Assert.Equal("", label);
                Assert.Equal(0f, probability);
                continue;
            }

            line.Append(line.Length == 0 ? "" : " ").Append(label).Append(' ').Append(Format(probability));
        }

        return line.ToString();
    }
}
