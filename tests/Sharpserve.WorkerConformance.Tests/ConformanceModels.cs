using System.Globalization;
using Sharpserve.WorkerConformance;

namespace Sharpserve.WorkerConformance.Tests;

/// <summary>
/// The models the C# worker is checked with, and their expected outputs, all committed and computed independently:
/// the fastText demo model against the fasttext CLI's golden outputs (tools/make-demo-golden.sh), ONNX models
/// against numpy (tools/make-onnx-test-models.py). Together they send and receive every datatype.
/// </summary>
internal static class ConformanceModels
{
    private static string DataPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "data", .. parts]);

    public static IReadOnlyList<ConformanceModel> All { get; } =
    [
        Langid(),
        Onnx("multi_io",
        [
            new BadInputCase("'a' as FP32 where the model takes FP64", Replace("multi_io", WireTensor.Fp32("a", [2, 3], 1, 2, 3, 4, 5, 6))),
            new BadInputCase("'b' of rank 2 where the model takes rank 1", Replace("multi_io", WireTensor.Int32("b", [1, 3], 1, 2, 3))),
            new BadInputCase("input 'flag' missing", Without("multi_io", "flag")),
            new BadInputCase("an input the model does not have", new WireRequest([.. Inputs("multi_io"), WireTensor.Fp32("extra", [1], 1)])),
        ]),
        Onnx("identity_types", []),
        Onnx("int64_embedding",
        [
            new BadInputCase("'ids' with 4 columns where the model takes 5", new WireRequest([Int64("ids", [1, 4], 1, 2, 3, 4)])),
        ]),
        Onnx("string_label_encoder", []),
        Onnx("any_rank",
        [
            new BadInputCase("scalar 's' sent with rank 1", Replace("any_rank", WireTensor.Fp32("s", [1], 2))),
        ]),
        Onnx("int_division",
        [
            new BadInputCase("'a' and 'b' of different lengths along their shared dimension 'N'",
                new WireRequest([WireTensor.Int32("a", [3], 7, -9, 100), WireTensor.Int32("b", [2], 2, 4)])),
        ]),
    ];

    /// <summary>
    /// The demo fastText model: each text of tests/data/fasttext/demo/input.txt alone, and all of them in one batch,
    /// for each k and threshold the golden files were made with. The worker answers 'label' (BYTES) and
    /// 'probability' (FP32), both [texts, K] with K = the label count for k = -1, else min(k, label count); rows
    /// with fewer predictions are padded with "" and 0 (docs/formats/fasttext.md).
    /// </summary>
    private static ConformanceModel Langid()
    {
        string folder = DataPath("fasttext", "demo");
        string input = File.ReadAllText(Path.Combine(folder, "input.txt"));
        string[] texts = input[..^1].Split('\n');
        var cases = new List<ConformanceCase>();
        int labelCount = -1;
        foreach (string line in File.ReadAllLines(Path.Combine(folder, "cases.txt")))
        {
            string[] fields = line.Split(' ');
            string name = fields[0];
            int k = int.Parse(fields[1], CultureInfo.InvariantCulture);
            float threshold = fields[2] == "-" ? 0f : float.Parse(fields[2], CultureInfo.InvariantCulture);
            string[][] golden = [.. File.ReadAllLines(Path.Combine(folder, $"langid.{name}.txt")).Select(l => l.Length == 0 ? [] : l.Split(' '))];
            Assert.Equal(texts.Length, golden.Length);
            if (labelCount < 0)
            {
                Assert.True(k == -1 && threshold == 0f, "the first golden case must list every label (k -1, no threshold)");
                labelCount = golden[0].Length / 2;
            }

            int width = k == -1 ? labelCount : Math.Min(k, labelCount);
            for (int t = 0; t < texts.Length; t++)
            {
                cases.Add(FastTextCase($"langid {name} text {t + 1}", [texts[t]], [golden[t]], k, threshold, width));
            }

            cases.Add(FastTextCase($"langid {name} batch of {texts.Length}", texts, golden, k, threshold, width));
        }

        WireTensor text = WireTensor.Strings("text", [1], "Bonjour");
        return new ConformanceModel("langid", DataPath("langid.bin"), cases,
        [
            new BadInputCase("'text' as INT32", new WireRequest([WireTensor.Int32("text", [1], 1)])),
            new BadInputCase("'text' of rank 2", new WireRequest([WireTensor.Strings("text", [1, 1], "Bonjour")])),
            new BadInputCase("no input 'text'", new WireRequest([WireTensor.Strings("body", [1], "Bonjour")])),
            new BadInputCase("k = 0", new WireRequest([text], K: 0)),
            new BadInputCase("threshold = 2", new WireRequest([text], Threshold: 2f)),
        ]);
    }

    private static ConformanceCase FastTextCase(string name, string[] texts, string[][] golden, int k, float threshold, int width)
    {
        var labels = new string[texts.Length * width];
        var probabilities = new float[texts.Length * width];
        Array.Fill(labels, "");
        for (int row = 0; row < texts.Length; row++)
        {
            for (int i = 0; i < golden[row].Length / 2; i++)
            {
                labels[(row * width) + i] = golden[row][2 * i];
                probabilities[(row * width) + i] = float.Parse(golden[row][(2 * i) + 1], CultureInfo.InvariantCulture);
            }
        }

        long[] shape = [texts.Length, width];
        var request = new WireRequest([WireTensor.Strings("text", [texts.Length], texts)], k, threshold);
        // The CLI prints six significant digits.
        return new ConformanceCase(name, request, [WireTensor.Strings("label", shape, labels), WireTensor.Fp32("probability", shape, probabilities)], Tolerance: 1e-4);
    }

    private static ConformanceModel Onnx(string name, IReadOnlyList<BadInputCase> badInputs) =>
        new(name, DataPath("onnx", name + ".onnx"), [ConformanceCase.FromExpectedJson(DataPath("onnx", name + ".expected.json"))], badInputs);

    private static IReadOnlyList<WireTensor> Inputs(string model) =>
        ConformanceCase.FromExpectedJson(DataPath("onnx", model + ".expected.json")).Request.Inputs;

    /// <summary>The model's expected-case inputs with one of them replaced by <paramref name="tensor"/> (same name).</summary>
    private static WireRequest Replace(string model, WireTensor tensor) =>
        new([.. Inputs(model).Select(t => t.Name == tensor.Name ? tensor : t)]);

    private static WireRequest Without(string model, string input) => new([.. Inputs(model).Where(t => t.Name != input)]);

    private static WireTensor Int64(string name, long[] shape, params long[] values)
    {
        var data = new WireWriter();
        foreach (long value in values)
        {
            data.I64(value);
        }

        return new WireTensor(name, WireDataType.Int64, shape, data.ToArray());
    }
}
