using System.Text;

namespace Sharpserve.FunctionalTests;

/// <summary><c>sharpserve predict</c>, the real executable: its output is byte for byte what `fasttext predict-prob` prints.</summary>
public sealed class PredictCommandTests
{
    /// <summary>Every committed golden output: each test model with each case of cases.txt ("CASE K TH", "-": no TH).</summary>
    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (string line in File.ReadAllLines(TestServer.DataPath("fasttext", "cases.txt")))
        {
            string[] parts = line.Split(' ');
            string options = parts[2] == "-" ? $"--k {parts[1]}" : $"--k {parts[1]} --threshold {parts[2]}";
            foreach (string model in Directory.GetFiles(TestServer.DataPath("fasttext", "models"), "*.bin").Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetFileNameWithoutExtension(model), parts[0], options);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Predict_File_PrintsExactlyTheFastTextCliOutput(string model, string caseName, string options)
    {
        string modelPath = TestServer.DataPath("fasttext", "models", model + ".bin");
        string input = TestServer.DataPath("fasttext", "input.txt");

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"predict \"{modelPath}\" \"{input}\" {options}");

        Assert.True(exitCode == 0, stderr);
        AssertSameLines(File.ReadAllText(TestServer.DataPath("fasttext", "golden", $"{model}.{caseName}.txt"), Encoding.UTF8), stdout);
    }

    [Fact]
    public async Task Predict_StandardInput_DemoModel_PrintsExactlyTheFastTextCliOutput()
    {
        byte[] sentences = File.ReadAllBytes(TestServer.DataPath("fasttext", "sentences", "input.txt"));

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"predict \"{TestServer.DemoModelPath}\" - --k 3", stdin: sentences);

        Assert.True(exitCode == 0, stderr);
        AssertSameLines(File.ReadAllText(TestServer.DataPath("fasttext", "sentences", "langid.k3.txt"), Encoding.UTF8), stdout);
    }

    private static void AssertSameLines(string golden, string stdout)
    {
        string[] expected = golden.Split('\n');
        string[] actual = stdout.Split('\n');
        Assert.True(expected.Length == actual.Length, $"{actual.Length - 1} lines printed, the CLI printed {expected.Length - 1}");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(expected[i] == actual[i], $"line {i + 1} differs\n  CLI:  {expected[i]}\n  ours: {actual[i]}");
        }
    }
}
