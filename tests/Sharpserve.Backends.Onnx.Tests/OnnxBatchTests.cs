using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx.Tests;

/// <summary>
/// <see cref="IModelSession.InferBatch"/> on ONNX Runtime: requests concatenated along dimension 0, one run, outputs
/// cut back by rows. Each request's answer is checked against the numpy reference rows it sent.
/// </summary>
public sealed class OnnxBatchTests
{
    private static IModel Load(string name) => new OnnxBackend().Open(OnnxTestData.Model(name), name);

    [Fact]
    public void Batch_EachRequestGetsItsOwnRows_AndItsOwnOutputs()
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("mlp_classifier");
        Tensor x = Assert.Single(inputs);
        using IModel model = Load("mlp_classifier");
        using IModelSession session = model.CreateSession();
        InferenceRequest[] requests =
        [
            new([Rows(x, 0, 1)], InferenceParameters.Default),
            new([Rows(x, 1, 2)], InferenceParameters.Default, ["label"]),
            new([Rows(x, 2, 1)], InferenceParameters.Default, ["probabilities", "logits"]),
            new([Rows(x, 0, 3)], InferenceParameters.Default),
        ];
        var results = new InferResult[requests.Length];

        session.InferBatch(requests, results);

        AssertOutputs(results[0], [.. outputs.Select(o => Rows(o, 0, 1))]);
        AssertOutputs(results[1], [Rows(outputs[2], 1, 2)]);
        AssertOutputs(results[2], [Rows(outputs[1], 2, 1), Rows(outputs[0], 2, 1)]);
        AssertOutputs(results[3], outputs);
    }

    [Fact]
    public void Batch_OfBytesInputs_SplitsEveryRequestsStrings()
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("string_label_encoder");
        Tensor text = Assert.Single(inputs);
        using IModel model = Load("string_label_encoder");
        using IModelSession session = model.CreateSession();
        InferenceRequest[] requests = [new([Rows(text, 0, 1)], InferenceParameters.Default), new([Rows(text, 1, 3)], InferenceParameters.Default)];
        var results = new InferResult[2];

        session.InferBatch(requests, results);

        AssertOutputs(results[0], [Rows(outputs[0], 0, 1)]);
        AssertOutputs(results[1], [Rows(outputs[0], 1, 3)]);
    }

    [Fact]
    public void Batch_WithAValueOnnxRuntimeRefuses_FailsThatRequestOnly()
    {
        // Id 99 is past the embedding table: ONNX Runtime refuses the whole run, so each request runs alone.
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("int64_embedding");
        Tensor ids = Assert.Single(inputs);
        using IModel model = Load("int64_embedding");
        using IModelSession session = model.CreateSession();
        InferenceRequest[] requests =
        [
            new([Rows(ids, 0, 1)], InferenceParameters.Default),
            new([Tensor.FromInt64("ids", [1, 5], [0, 1, 2, 3, 99])], InferenceParameters.Default),
            new([Rows(ids, 1, 1)], InferenceParameters.Default),
        ];
        var results = new InferResult[3];

        session.InferBatch(requests, results);

        AssertOutputs(results[0], [.. outputs.Select(o => Rows(o, 0, 1))]);
        Assert.Equal(InferErrorKind.BadInput, results[1].Error?.Kind);
        Assert.Contains("refused the input", results[1].Error!.Message, StringComparison.Ordinal);
        AssertOutputs(results[2], [.. outputs.Select(o => Rows(o, 1, 1))]);
    }

    [Fact]
    public void Batch_OfShapesThatCannotBeConcatenated_AnswersEachAlone()
    {
        // dynamic_hw_conv takes [N, C, H, W] with free H and W: requests of other heights run one by one.
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("dynamic_hw_conv");
        using IModel model = Load("dynamic_hw_conv");
        using IModelSession session = model.CreateSession();
        InferenceRequest reference = new(inputs, InferenceParameters.Default);
        long[] shape = (long[])inputs[0].Shape.Clone();
        shape[2] += 1;
        int elements = (int)shape.Aggregate(1L, (a, b) => a * b);
        InferenceRequest taller = new([Tensor.FromFp32(inputs[0].Name, shape, new float[elements])], InferenceParameters.Default);
        var results = new InferResult[3];

        session.InferBatch([reference, taller, reference], results);

        AssertOutputs(results[0], outputs);
        AssertOutputs(results[2], outputs);
        AssertOutputs(results[1], [Tensor.FromFp32("y", [shape[0], 2], new float[shape[0] * 2])]); // zeros in, zeros out
    }

    private static void AssertOutputs(InferResult result, IReadOnlyList<Tensor> expected)
    {
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(expected.Count, result.Response!.Outputs.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            OnnxTestData.AssertClose(expected[i], result.Response.Outputs[i]);
        }
    }

    /// <summary>Rows [<paramref name="start"/>, start + <paramref name="count"/>) of a tensor, along its first dimension.</summary>
    private static Tensor Rows(Tensor tensor, int start, int count)
    {
        long[] shape = (long[])tensor.Shape.Clone();
        int perRow = (int)(tensor.ElementCount / tensor.Shape[0]);
        shape[0] = count;
        if (tensor.BytesData is { } strings)
        {
            return Tensor.FromBytes(tensor.Name, shape, strings[(start * perRow)..((start + count) * perRow)]);
        }

        int size = TensorDataTypes.ElementSize(tensor.DataType);
        return Tensor.FromRaw(tensor.Name, tensor.DataType, shape, tensor.RawData.Slice(start * perRow * size, count * perRow * size).ToArray());
    }
}
