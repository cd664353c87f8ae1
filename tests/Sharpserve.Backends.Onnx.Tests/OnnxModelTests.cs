using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx.Tests;

public sealed class OnnxModelTests
{
    private static IModel Load(string name) => new OnnxBackend().Open(OnnxTestData.Model(name), name);

    [Fact]
    public void Metadata_ComesFromTheSession_WithDynamicAxesAsMinusOne()
    {
        using IModel model = Load("mlp_classifier");

        Assert.Equal("onnxruntime_onnx", model.Metadata.Platform);
        TensorMetadata input = Assert.Single(model.Metadata.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal(TensorDataType.Fp32, input.DataType);
        Assert.Equal([-1L, 8], input.Shape);
        Assert.Equal(["logits", "probabilities", "label"], model.Metadata.Outputs.Select(o => o.Name));
        Assert.Equal([TensorDataType.Fp32, TensorDataType.Fp32, TensorDataType.Int64], model.Metadata.Outputs.Select(o => o.DataType));
        Assert.Equal([-1L, 1], model.Metadata.Outputs[2].Shape);
    }

    [Theory]
    [InlineData("mlp_classifier")]
    [InlineData("int64_embedding")]
    [InlineData("multi_io")]
    [InlineData("external/model")]
    [InlineData("zipmap_classifier")]
    [InlineData("ir3_legacy")]
    [InlineData("dynamic_hw_conv")]
    [InlineData("int_division")]
    [InlineData("top20")]
    [InlineData("string_label_encoder")]
    [InlineData("any_rank")]
    public void Infer_MatchesTheNumpyReference(string name)
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected(name);
        using IModel model = Load(name);
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest(inputs, InferenceParameters.Default));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(outputs.Count, result.Response!.Outputs.Count);
        for (int i = 0; i < outputs.Count; i++)
        {
            OnnxTestData.AssertClose(outputs[i], result.Response.Outputs[i]);
        }
    }

    [Fact]
    public void InferBatch_RunsEachRequestInOrder_OneResultPerRequest_ErrorsStayWithTheirRequest()
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("mlp_classifier");
        using IModel model = Load("mlp_classifier");
        InferenceRequest[] requests =
        [
            new(inputs, InferenceParameters.Default),
            new([Tensor.FromFp32("input", [1, 3], [1f, 2f, 3f])], InferenceParameters.Default), // 3 features, not 8
            new([Tensor.FromFp32("input", [2, 8], new float[16])], InferenceParameters.Default),
            new([Tensor.FromInt64("input", [1, 8], new long[8])], InferenceParameters.Default), // INT64, not FP32
        ];
        var results = new InferResult[requests.Length];
        using IModelSession session = model.CreateSession();

        session.InferBatch(requests, results);

        Assert.Equal([true, false, true, false], results.Select(r => r.IsSuccess));
        for (int i = 0; i < outputs.Count; i++)
        {
            OnnxTestData.AssertClose(outputs[i], results[0].Response!.Outputs[i]);
        }

        Assert.Equal(InferErrorKind.BadInput, results[1].Error!.Kind);
        Assert.Equal(InferErrorKind.BadInput, results[3].Error!.Kind);
        using IModelSession alone = model.CreateSession();
        InferResult zeros = alone.Infer(requests[2]);
        Assert.Equal([2L, 4], results[2].Response!.Outputs[1].Shape);
        for (int i = 0; i < zeros.Response!.Outputs.Count; i++)
        {
            OnnxTestData.AssertClose(zeros.Response.Outputs[i], results[2].Response!.Outputs[i]);
        }

        Assert.Equal(alone.Infer(requests[1]).Error!.Message, results[1].Error!.Message);
        Assert.Throws<ArgumentException>(() => session.InferBatch(requests, new InferResult[requests.Length + 1]));
    }

    [Fact]
    public void RequestedOutputs_AreTheOnlyOnesReturned_InTheOrderAsked()
    {
        // ONNX Runtime still runs the whole graph (measured: a failing node on an unfetched branch fails the run),
        // but only the fetched outputs are converted, copied and sent back.
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("mlp_classifier");
        using IModel model = Load("mlp_classifier");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest(inputs, InferenceParameters.Default, ["label", "logits"]));

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(["label", "logits"], result.Response!.Outputs.Select(o => o.Name));
        OnnxTestData.AssertClose(outputs.Single(o => o.Name == "label"), result.Response.Outputs[0]);
        OnnxTestData.AssertClose(outputs.Single(o => o.Name == "logits"), result.Response.Outputs[1]);
    }

    [Fact]
    public void UnknownRequestedOutput_IsBadInput()
    {
        (List<Tensor> inputs, _) = OnnxTestData.Expected("mlp_classifier");
        using IModel model = Load("mlp_classifier");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest(inputs, InferenceParameters.Default, ["nope"]));

        Assert.Equal(InferErrorKind.BadInput, result.Error?.Kind);
        Assert.Contains("unknown output 'nope'", result.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_LeavesOutNonTensorOutputs_AndInitializersListedAsInputs()
    {
        using IModel zipmap = Load("zipmap_classifier");
        using IModel legacy = Load("ir3_legacy");

        // skl2onnx's ZipMap output (a sequence of maps) is not a tensor: it is not served, the tensors are.
        Assert.Equal(["label", "probabilities"], zipmap.Metadata.Outputs.Select(o => o.Name));
        // IR 3 lists initializers among the graph inputs; a client does not send them.
        Assert.Equal(["x", "s"], legacy.Metadata.Inputs.Select(i => i.Name));
        Assert.Equal([-1L], legacy.Metadata.Inputs[1].Shape);
    }

    [Fact]
    public void InputWithoutShape_TakesAnyRank_AScalarInputOnlyRankZero()
    {
        using IModel model = Load("any_rank");
        using IModelSession session = model.CreateSession();
        TensorMetadata x = model.Metadata.Inputs[0];
        TensorMetadata s = model.Metadata.Inputs[1];

        // A session reports both with no dimensions; the graph tells them apart.
        Assert.True(x.AnyRank);
        Assert.Equal([-1L], x.Shape);
        Assert.False(s.AnyRank);
        Assert.Empty(s.Shape);
        foreach (long[] shape in new long[][] { [], [4], [2, 2], [1, 2, 2, 1] })
        {
            Tensor input = Tensor.FromFp32("x", shape, [.. Enumerable.Repeat(-1.5f, (int)shape.Aggregate(1L, (a, b) => a * b))]);
            InferResult result = session.Infer(new InferenceRequest([input, Tensor.FromFp32("s", [], [2f])], InferenceParameters.Default));

            Assert.True(result.IsSuccess, result.Error?.Message);
            Assert.Equal(shape, result.Response!.Outputs[0].Shape);
            Assert.All(result.Response.Outputs[0].GetData<float>().ToArray(), v => Assert.Equal(3f, v));
        }

        InferResult wrongRank = session.Infer(new InferenceRequest(
            [Tensor.FromFp32("x", [1], [1f]), Tensor.FromFp32("s", [1], [2f])], InferenceParameters.Default));
        Assert.Equal(InferErrorKind.BadInput, wrongRank.Error?.Kind);
        Assert.Contains("input 's' has shape [1]", wrongRank.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadFailure_ForAMissingLocale_SaysWhatToInstall()
    {
        // ONNX Runtime 1.31's message when a StringNormalizer's locale is not installed (seen on this machine).
        const string message = "[ErrorCode:Fail] Exception during initialization: /onnxruntime_src/onnxruntime/core/providers/cpu/text/string_normalizer.cc:235 onnxruntime::StringNormalizer::Locale::Locale(const std::string&)::<lambda()> Failed to construct locale with name:en_US.UTF-8:locale::facet::_S_create_c_locale name not valid:Please, install necessary language-pack-XX";

        Assert.Contains("needs the system locale 'en_US.UTF-8'", OnnxModel.LoadFailureHint(message), StringComparison.Ordinal);
        Assert.Equal("", OnnxModel.LoadFailureHint("[ErrorCode:InvalidGraph] Load model failed"));
    }

    public static TheoryData<string> AllModels() =>
        ["mlp_classifier", "int64_embedding", "multi_io", "external/model", "zipmap_classifier", "ir3_legacy", "matmul",
         "dynamic_hw_conv", "int_division", "top20", "string_label_encoder", "any_rank"];

    [Theory]
    [MemberData(nameof(AllModels))]
    public void Describe_ReadsTheSameMetadataFromTheGraphAsTheSessionReports(string name)
    {
        // Process mode's front describes a model from its graph without a session; it must agree with ONNX Runtime.
        using IModel loaded = Load(name);
        ModelDescription described = new OnnxBackend().Describe(OnnxTestData.Model(name), name);

        Assert.Equal(Text(loaded.Metadata), Text(described.Metadata));
        Assert.Equal(loaded.MappedBytes, described.MappedBytes);
        // The front cannot try warm-up inputs: it sends the first candidate; a loaded model keeps the first that runs.
        Assert.Equal(Text(OnnxModel.WarmupCandidates(loaded.Metadata).First()), Text(Assert.Single(described.WarmupRequests)));
    }

    [Fact]
    public void Describe_RefusesWhatLoadRefuses()
    {
        var backend = new OnnxBackend();
        foreach (string name in new[] { "truncated", "garbage", "external/outside", "external/absolute" })
        {
            Assert.Throws<ModelLoadException>(() => backend.Describe(OnnxTestData.Model(name), name));
        }
    }

    private static string Text(ModelMetadata metadata) =>
        $"{metadata.Name} {metadata.Platform} in: {Text(metadata.Inputs)} out: {Text(metadata.Outputs)}";

    private static string Text(IReadOnlyList<TensorMetadata> tensors) =>
        string.Join("; ", tensors.Select(t => $"{t.Name} {t.DataType} [{string.Join(",", t.Shape)}]{(t.AnyRank ? " any rank" : "")}"));

    private static string Text(InferenceRequest request) =>
        string.Join("; ", request.Inputs.Select(t => $"{t.Name} {t.DataType} [{string.Join(",", t.Shape)}] {t.ElementCount}"));

    [Fact]
    public void WarmupRequests_RunOnEveryModel()
    {
        foreach (string name in new[] { "mlp_classifier", "int64_embedding", "multi_io", "zipmap_classifier", "ir3_legacy", "dynamic_hw_conv", "int_division", "string_label_encoder", "any_rank" })
        {
            using IModel model = Load(name);
            using IModelSession session = model.CreateSession();
            foreach (InferenceRequest warmup in model.WarmupRequests)
            {
                InferResult result = session.Infer(warmup);
                Assert.True(result.IsSuccess, $"{name}: {result.Error?.Message}");
            }
        }
    }

    [Fact]
    public void WarmupRequest_IsTheFirstSynthesisedInputTheModelRuns()
    {
        // Zeros with dynamic dimensions 1 are too small for a 3x3 convolution and divide an integer by zero.
        using IModel conv = Load("dynamic_hw_conv");
        using IModel division = Load("int_division");

        Assert.Equal([16L, 1, 16, 16], Assert.Single(conv.WarmupRequests).Inputs[0].Shape);
        InferenceRequest warmup = Assert.Single(division.WarmupRequests);
        Assert.Equal([1], warmup.FindInput("b")!.GetData<int>().ToArray());
    }

    [Fact]
    public void Model_ThatRefusesEverySynthesisedInput_LoadsWithoutWarmupRequests()
    {
        var log = new List<string>();
        using IModel model = new OnnxBackend(new OnnxBackendOptions { Log = log.Add }).Open(OnnxTestData.Model("top20"), "top20");

        Assert.Empty(model.WarmupRequests);
        Assert.Contains(log, m => m.Contains("no synthesised warm-up input runs on this model", StringComparison.Ordinal));
    }

    [Fact]
    public void Infer_DimensionsNamedAlikeWithDifferentSizes_IsBadInputNamingBoth()
    {
        // ONNX Runtime's Div fails on [3] / [2] with a status that is not INVALID_ARGUMENT, which would be a 500.
        using IModel model = Load("int_division");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest(
            [Tensor.FromInt32("a", [3], [1, 2, 3]), Tensor.FromInt32("b", [2], [1, 2])], InferenceParameters.Default));

        Assert.Equal(InferErrorKind.BadInput, result.Error?.Kind);
        Assert.Contains("input 'b' has size 2 in dimension 0 but input 'a' has 3", result.Error!.Message, StringComparison.Ordinal);
        Assert.Contains("names both 'N'", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sessions_OnManyThreads_ShareOneInferenceSession()
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected("mlp_classifier");
        using IModel model = Load("mlp_classifier");
        var request = new InferenceRequest(inputs, InferenceParameters.Default);

        Parallel.For(0, 4, _ =>
        {
            using IModelSession session = model.CreateSession();
            for (int i = 0; i < 50; i++)
            {
                InferResult result = session.Infer(request);
                Assert.True(result.IsSuccess, result.Error?.Message);
                OnnxTestData.AssertClose(outputs[0], result.Response!.Outputs[0]);
            }
        });
    }

    public static TheoryData<Tensor, string> BadMlpInputs() => new()
    {
        { Tensor.FromFp32("input", [1, 7], new float[7]), "input 'input' has shape [1,7]" },
        { Tensor.FromFp32("input", [8], new float[8]), "input 'input' has shape [8]" },
        { Tensor.FromFp64("input", [1, 8], new double[8]), "input 'input' has datatype FP64" },
        { Tensor.FromFp32("input", [2, 8], new float[8]), "(16 elements) but holds 8 values" },
        { Tensor.FromFp32("input", [4611686018427387904, 8], new float[8]), "more than" },
        { Tensor.FromFp32("input", [-1, 8], new float[8]), "input 'input' has shape [-1,8]" },
    };

    [Theory]
    [MemberData(nameof(BadMlpInputs))]
    public void Infer_BadInput_ReturnsBadInputNamingTheTensor(Tensor input, string message)
    {
        using IModel model = Load("mlp_classifier");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest([input], InferenceParameters.Default));

        Assert.False(result.IsSuccess);
        Assert.Equal(InferErrorKind.BadInput, result.Error!.Kind);
        Assert.Contains(message, result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Infer_MissingOrUnknownInput_ReturnsBadInput()
    {
        using IModel model = Load("mlp_classifier");
        using IModelSession session = model.CreateSession();

        InferResult missing = session.Infer(new InferenceRequest([], InferenceParameters.Default));
        InferResult unknown = session.Infer(new InferenceRequest(
            [Tensor.FromFp32("input", [1, 8], new float[8]), Tensor.FromFp32("extra", [1], [1f])], InferenceParameters.Default));

        Assert.Equal(InferErrorKind.BadInput, missing.Error!.Kind);
        Assert.Contains("input 'input' is missing", missing.Error.Message, StringComparison.Ordinal);
        Assert.Equal(InferErrorKind.BadInput, unknown.Error!.Kind);
        Assert.Contains("unknown input 'extra'", unknown.Error.Message, StringComparison.Ordinal);

        InferResult twice = session.Infer(new InferenceRequest(
            [Tensor.FromFp32("input", [1, 8], new float[8]), Tensor.FromFp32("input", [1, 8], new float[8])], InferenceParameters.Default));
        Assert.Contains("given more than once", twice.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Infer_OverTheByteLimit_ReturnsBadInput()
    {
        using IModel model = new OnnxBackend(new OnnxBackendOptions { MaxBytesPerTensor = 31 }).Open(OnnxTestData.Model("mlp_classifier"), "m");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest([Tensor.FromFp32("input", [1, 8], new float[8])], InferenceParameters.Default));

        Assert.Equal(InferErrorKind.BadInput, result.Error!.Kind);
        Assert.Contains("32 bytes, more than the limit of 31", result.Error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Infer_IndexOutOfRangeInsideTheGraph_IsAnErrorNotACrash()
    {
        using IModel model = Load("int64_embedding");
        using IModelSession session = model.CreateSession();

        InferResult result = session.Infer(new InferenceRequest([Tensor.FromInt64("ids", [1, 5], [0, 1, 2, 3, 1000])], InferenceParameters.Default));

        Assert.False(result.IsSuccess);
        Assert.Equal(InferErrorKind.BadInput, result.Error!.Kind);
        Assert.Contains("refused the input", result.Error.Message, StringComparison.Ordinal);
    }
}
