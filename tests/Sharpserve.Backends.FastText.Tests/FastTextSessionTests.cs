using System.Globalization;
using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText.Tests;

public sealed class FastTextSessionTests : IDisposable
{
    private readonly FastTextModel _model = FastTextModel.Open(FastTextTestData.ModelPath("hs-sharp"), "licenses");

    public void Dispose() => _model.Dispose();

    public static TheoryData<string, string> ModelCases()
    {
        var data = new TheoryData<string, string>();
        foreach (string model in FastTextTestData.ModelNames)
        {
            foreach ((string name, _, _) in FastTextTestData.SentenceCases())
            {
                data.Add(model, name);
            }
        }

        return data;
    }

    /// <summary>
    /// One batch of every sentence of sentences/input.txt: each row equals the line `fasttext predict-prob` printed
    /// for that sentence (labels, order and probability digits), padded with empty labels and zeros to the width.
    /// </summary>
    [Theory]
    [MemberData(nameof(ModelCases))]
    public void Infer_EqualsFastTextCliOnEachSentence(string modelName, string caseName)
    {
        (_, int k, float threshold) = FastTextTestData.SentenceCases().Single(c => c.Name == caseName);
        string[] golden = FastTextTestData.SentenceGolden(modelName, caseName);
        using FastTextModel model = FastTextModel.Open(FastTextTestData.ModelPath(modelName), modelName);
        using IModelSession session = model.CreateSession();
        byte[][] texts = FastTextTestData.Sentences();
        InferResult result = session.Infer(Request(texts, k, threshold));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(texts.Length, golden.Length);
        int width = k == -1 ? model.LabelCount : Math.Min(k, model.LabelCount);
        Tensor labels = result.Response!.Outputs[0];
        Tensor probabilities = result.Response.Outputs[1];
        Assert.Equal("label", labels.Name);
        Assert.Equal(TensorDataType.Bytes, labels.DataType);
        Assert.Equal([texts.Length, width], labels.Shape);
        Assert.Equal("probability", probabilities.Name);
        Assert.Equal(TensorDataType.Fp32, probabilities.DataType);
        Assert.Equal([texts.Length, width], probabilities.Shape);

        for (int row = 0; row < texts.Length; row++)
        {
            string[] expected = golden[row].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.True(expected.Length / 2 <= width, $"row {row}: the CLI printed {expected.Length / 2} labels, wider than {width}");
            var actual = new StringBuilder();
            for (int i = 0; i < width; i++)
            {
                byte[] label = labels.BytesData![(row * width) + i];
                float probability = probabilities.Fp32Data![(row * width) + i];
                if (i >= expected.Length / 2)
                {
                    Assert.Empty(label);
                    Assert.Equal(0f, probability);
                    continue;
                }

                actual.Append(actual.Length == 0 ? "" : " ").Append(Encoding.UTF8.GetString(label)).Append(' ').Append(Format(probability));
            }

            Assert.Equal(golden[row], actual.ToString());
        }
    }

    [Fact]
    public void Infer_PadsRowsWithFewerPredictions()
    {
        using IModelSession session = _model.CreateSession();
        InferResult result = session.Infer(Request(Encode(["GNU General Public License"]), -1, 0.3f));

        Tensor labels = result.Response!.Outputs[0];
        Tensor probabilities = result.Response.Outputs[1];
        Assert.Equal([1, _model.LabelCount], labels.Shape);
        Assert.NotEmpty(labels.BytesData![0]);
        Assert.Empty(labels.BytesData[_model.LabelCount - 1]);
        Assert.Equal(0f, probabilities.Fp32Data![_model.LabelCount - 1]);
    }

    [Fact]
    public void Infer_LiteralEndOfSentenceAndNewlines_DoNotSplitTheRecord()
    {
        using IModelSession session = _model.CreateSession();
        InferResult withMarkers = session.Infer(Request(Encode(["free software </s> license\nversion 3\r\nGNU"]), -1, 0f));

        FastTextPredictor predictor = _model.CreatePredictor();
        foreach (string token in new[] { "free", "software", "</s>", "license", "version", "3", "GNU" })
        {
            predictor.AddToken(Encoding.UTF8.GetBytes(token));
        }

        predictor.AddEndOfSentence();
        var expected = new FastTextPrediction[_model.LabelCount];
        int count = predictor.Predict(-1, 0f, expected);

        Tensor labels = withMarkers.Response!.Outputs[0];
        Assert.Equal([1, _model.LabelCount], labels.Shape);
        for (int i = 0; i < count; i++)
        {
            Assert.Equal(_model.GetLabel(expected[i].LabelIndex), Encoding.UTF8.GetString(labels.BytesData![i]));
            Assert.Equal(expected[i].Probability, withMarkers.Response.Outputs[1].Fp32Data![i]);
        }
    }

    [Fact]
    public void Infer_NoTexts_ReturnsEmptyOutputs()
    {
        using IModelSession session = _model.CreateSession();
        InferResult result = session.Infer(Request([], 2, 0f));
        Assert.Equal([0, 2], result.Response!.Outputs[0].Shape);
        Assert.Empty(result.Response.Outputs[1].Fp32Data!);
    }

    [Fact]
    public void Infer_WarmupRequests_Succeed()
    {
        using IModelSession session = _model.CreateSession();
        Assert.NotEmpty(_model.WarmupRequests);
        foreach (InferenceRequest request in _model.WarmupRequests)
        {
            InferResult result = session.Infer(request);
            Assert.True(result.IsSuccess, result.Error?.Message);
        }
    }

    [Fact]
    public void Infer_MissingText_IsBadInput()
    {
        var request = new InferenceRequest([Tensor.FromBytes("input", [1], [[1]])], InferenceParameters.Default);
        AssertBadInput(request, "input 'text' is missing");
    }

    [Fact]
    public void Infer_Fp32Text_IsBadInput()
    {
        var request = new InferenceRequest([Tensor.FromFp32("text", [1], [1f])], InferenceParameters.Default);
        AssertBadInput(request, "input 'text' must be BYTES, got FP32");
    }

    [Fact]
    public void Infer_TwoDimensionalText_IsBadInput()
    {
        var request = new InferenceRequest([Tensor.FromBytes("text", [1, 1], [[65]])], InferenceParameters.Default);
        AssertBadInput(request, "input 'text' must have shape [N], got [1, 1]");
    }

    [Fact]
    public void Infer_ShapeNotMatchingElements_IsBadInput()
    {
        var request = new InferenceRequest([Tensor.FromBytes("text", [3], [[65], [66]])], InferenceParameters.Default);
        AssertBadInput(request, "input 'text' has shape [3] but 2 elements");
    }

    [Fact]
    public void Infer_NullElement_IsBadInput()
    {
        var request = new InferenceRequest([Tensor.FromBytes("text", [2], [[65], null!])], InferenceParameters.Default);
        AssertBadInput(request, "input 'text' element 1 is null");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public void Infer_InvalidK_IsBadInput(int k) =>
        AssertBadInput(Request(Encode(["x"]), k, 0f), $"parameter k must be -1 (all labels) or a positive integer, got {k}");

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(1.5f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void Infer_InvalidThreshold_IsBadInput(float threshold)
    {
        using IModelSession session = _model.CreateSession();
        InferResult result = session.Infer(Request(Encode(["x"]), 1, threshold));
        Assert.Equal(InferErrorKind.BadInput, result.Error!.Kind);
        Assert.StartsWith("parameter threshold must be a number in [0, 1], got ", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InferBatch_RunsEachRequestInOrder_OneResultPerRequest_ErrorsStayWithTheirRequest()
    {
        byte[][] sentences = FastTextTestData.Sentences();
        InferenceRequest[] requests =
        [
            Request([sentences[0]], 1, 0f),
            new([Tensor.FromBytes("body", [1], [sentences[1]])], InferenceParameters.Default), // no input 'text'
            Request([sentences[1], sentences[2]], -1, 0f),
            Request([sentences[2]], 1, 2f), // threshold out of range
            Request([sentences[3]], 2, 0f),
        ];
        var results = new InferResult[requests.Length];
        using IModelSession session = _model.CreateSession();

        session.InferBatch(requests, results);

        using IModelSession alone = _model.CreateSession();
        for (int i = 0; i < requests.Length; i++)
        {
            Assert.Equal(Render(alone.Infer(requests[i])), Render(results[i]));
        }

        Assert.Equal([true, false, true, false, true], results.Select(r => r.IsSuccess));
        Assert.Equal([1L, 2L, 1L], results.Where(r => r.IsSuccess).Select(r => r.Response!.Outputs[0].Shape[0]));
        Assert.Equal(InferErrorKind.BadInput, results[1].Error!.Kind);
        Assert.Equal(InferErrorKind.BadInput, results[3].Error!.Kind);
        Assert.Throws<ArgumentException>(() => session.InferBatch(requests, new InferResult[requests.Length - 1]));
    }

    /// <summary>A result as text: the error, or every output's name, shape and elements (probabilities to the bit).</summary>
    private static string Render(InferResult result) =>
        result.IsSuccess
            ? string.Join("; ", result.Response!.Outputs.Select(t =>
                $"{t.Name} [{string.Join(",", t.Shape)}] " + (t.BytesData is { } bytes
                    ? string.Join(" ", bytes.Select(b => Encoding.UTF8.GetString(b)))
                    : string.Join(" ", t.Fp32Data!.Select(f => BitConverter.SingleToInt32Bits(f).ToString(CultureInfo.InvariantCulture))))))
            : $"{result.Error!.Kind}: {result.Error.Message}";

    private void AssertBadInput(InferenceRequest request, string message)
    {
        using IModelSession session = _model.CreateSession();
        InferResult result = session.Infer(request);
        Assert.False(result.IsSuccess);
        Assert.Equal(InferErrorKind.BadInput, result.Error!.Kind);
        Assert.Equal(message, result.Error.Message);
    }

    private static InferenceRequest Request(byte[][] texts, int k, float threshold) =>
        new([Tensor.FromBytes("text", [texts.Length], texts)], new InferenceParameters(k, threshold));

    private static byte[][] Encode(string[] texts)
    {
        var result = new byte[texts.Length][];
        for (int i = 0; i < texts.Length; i++)
        {
            result[i] = Encoding.UTF8.GetBytes(texts[i]);
        }

        return result;
    }

    private static string Format(float probability) =>
        ((double)probability).ToString("G6", CultureInfo.InvariantCulture).Replace('E', 'e');
}
