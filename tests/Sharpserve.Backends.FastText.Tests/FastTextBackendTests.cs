using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText.Tests;

public sealed class FastTextBackendTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FastTextBackend _backend = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Name_IsFasttext() => Assert.Equal("fasttext", _backend.Name);

    [Fact]
    public void CanLoad_AFastTextModel() => Assert.True(_backend.CanLoad(FastTextTestData.ModelPath("hs-sub")));

    [Fact]
    public void CanLoad_ChecksMagicBytesOnly()
    {
        string text = _temp.File("text.bin");
        File.WriteAllText(text, "hello");
        string empty = _temp.File("empty.bin");
        File.WriteAllBytes(empty, []);
        string shortFile = _temp.File("short.bin");
        File.WriteAllBytes(shortFile, [0xBA, 0x16, 0x4F]);
        string magicOnly = _temp.File("magic.bin");
        File.WriteAllBytes(magicOnly, [0xBA, 0x16, 0x4F, 0x2F]);

        Assert.False(_backend.CanLoad(text));
        Assert.False(_backend.CanLoad(empty));
        Assert.False(_backend.CanLoad(shortFile));
        Assert.False(_backend.CanLoad(_temp.File("missing.bin")));
        Assert.False(_backend.CanLoad(_temp.Path));
        Assert.True(_backend.CanLoad(magicOnly));
    }

    [Fact]
    public void CanLoad_AnImageItWrote_ButNotAnotherBackendsImage()
    {
        string image = WriteImage(FastTextTestData.ModelPath("hs-sub"), _backend.Name);
        string foreign = WriteImage(FastTextTestData.ModelPath("hs-sub"), "other");

        Assert.True(_backend.CanLoad(image));
        Assert.False(_backend.CanLoad(foreign));
    }

    [Fact]
    public void Describe_OfAnImage_IsWhatTheOpenedModelDescribes()
    {
        string image = WriteImage(FastTextTestData.ModelPath("ova-sub-ng3"), _backend.Name);

        ModelDescription described = _backend.Describe(image, "licenses");
        using IModel opened = _backend.Open(image, "licenses");

        Assert.IsType<FastTextModel>(opened);
        Assert.Equal(Render(opened.Metadata), Render(described.Metadata));
        Assert.Equal(opened.WarmupRequests.Select(Render), described.WarmupRequests.Select(Render));
        Assert.NotEmpty(described.WarmupRequests);
        Assert.Equal(new FileInfo(image).Length, described.MappedBytes);
        Assert.Equal(opened.MappedBytes, described.MappedBytes);
        Assert.Equal(new[] { image }, _backend.MappedFiles(image));
    }

    [Fact]
    public void Validate_RefusesWhatOpenRefuses_AndAcceptsModelsAndTheirImages()
    {
        string path = _temp.File("bad.bin");
        File.WriteAllBytes(path, [0xBA, 0x16, 0x4F, 0x2F, 12, 0, 0]);

        _backend.Validate(FastTextTestData.ModelPath("hs-sub"));
        _backend.Validate(WriteImage(FastTextTestData.ModelPath("hs-sub"), _backend.Name));
        Assert.Equal(
            Assert.Throws<ModelLoadException>(() => _backend.Open(path, "bad")).Message,
            Assert.Throws<ModelLoadException>(() => _backend.Validate(path)).Message);
    }

    [Fact]
    public void Load_ReturnsAModelWithMetadata()
    {
        string path = FastTextTestData.ModelPath("ova-sub-ng3");
        using IModel model = _backend.Open(path, "licenses");

        FastTextModel fastText = Assert.IsType<FastTextModel>(model);
        Assert.Equal("licenses", model.Metadata.Name);
        Assert.Equal("fasttext", model.Metadata.Platform);
        TensorMetadata input = Assert.Single(model.Metadata.Inputs);
        Assert.Equal(("text", TensorDataType.Bytes), (input.Name, input.DataType));
        Assert.Equal([-1L], input.Shape);
        Assert.Equal(2, model.Metadata.Outputs.Count);
        Assert.Equal(("label", TensorDataType.Bytes), (model.Metadata.Outputs[0].Name, model.Metadata.Outputs[0].DataType));
        Assert.Equal([-1L, -1L], model.Metadata.Outputs[0].Shape);
        Assert.Equal(("probability", TensorDataType.Fp32), (model.Metadata.Outputs[1].Name, model.Metadata.Outputs[1].DataType));
        Assert.Equal([-1L, -1L], model.Metadata.Outputs[1].Shape);
        Assert.Equal(0, model.MappedBytes); // Load builds the image in memory; served models map an image file

        Assert.Equal(14, fastText.LabelCount);
        Assert.StartsWith("__label__", fastText.GetLabel(0), StringComparison.Ordinal);
        Assert.Equal(FastTextLoss.OneVsAll, fastText.Args.Loss);
        Assert.Equal(8, fastText.Args.Dim);
        Assert.Equal(3, fastText.Args.WordNgrams);
        Assert.Equal(2, fastText.Args.MinN);
        Assert.Equal(4, fastText.Args.MaxN);
        Assert.Equal(12007, fastText.Args.Bucket);
        Assert.Equal(12, fastText.Args.Version);
        Assert.Equal(3, fastText.Args.Model);
    }

    [Fact]
    public void Load_OfACorruptFile_ThrowsModelLoadException()
    {
        string path = _temp.File("bad.bin");
        File.WriteAllBytes(path, [0xBA, 0x16, 0x4F, 0x2F, 12, 0, 0]);
        Assert.Throws<ModelLoadException>(() => _backend.Open(path, "bad"));
    }

    [Fact]
    public void Model_CanBeOpenedTwice_AndDisposedIndependently()
    {
        string path = FastTextTestData.ModelPath("hs-sub");
        FastTextModel first = FastTextModel.Open(path, "a");
        using FastTextModel second = FastTextModel.Open(path, "b");
        first.Dispose();
        using IModelSession session = second.CreateSession();
        Assert.True(session.Infer(second.WarmupRequests[0]).IsSuccess);
    }

    private string WriteImage(string source, string backendName)
    {
        string path = _temp.File($"{Path.GetFileNameWithoutExtension(source)}-{backendName}.ssimg");
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
        var writer = new ModelImageWriter(file, backendName, _backend.ImageFormatVersion, default);
        _backend.WriteImage(source, writer);
        writer.Complete();
        return path;
    }

    private static string Render(ModelMetadata metadata) =>
        $"{metadata.Name} {metadata.Platform} in: {Render(metadata.Inputs)} out: {Render(metadata.Outputs)}";

    private static string Render(IReadOnlyList<TensorMetadata> tensors) =>
        string.Join("; ", tensors.Select(t => $"{t.Name} {t.DataType} [{string.Join(",", t.Shape)}]"));

    private static string Render(InferenceRequest request) =>
        $"k={request.Parameters.TopK} threshold={request.Parameters.Threshold} " +
        string.Join("; ", request.Inputs.Select(t => $"{t.Name} [{string.Join(",", t.Shape)}] {string.Join("|", t.BytesData!.Select(b => Encoding.UTF8.GetString(b)))}"));
}
