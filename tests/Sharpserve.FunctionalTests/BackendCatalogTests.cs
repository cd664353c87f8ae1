using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Backends.FastText;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <see cref="BackendCatalog"/> on every committed model, on prepared forms and on files no backend reads: which
/// backend it picks, that broken files fail with the messages they failed with before the catalog, and that a
/// description (what a process-mode front holds) agrees with the opened model.
/// </summary>
public sealed class BackendCatalogTests : IDisposable
{
    private const string Supported = "supported: ONNX .onnx, fastText supervised .bin";

    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-catalog-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static BackendCatalog Catalog => BackendCatalog.Default;

    private string Cache => Path.Combine(_directory, "cache");

    public static TheoryData<string> FastTextModels()
    {
        string root = TestServer.DataPath("fasttext", "models");
        return [.. Directory.GetFiles(root, "*.bin").Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal)];
    }

    /// <summary>Every committed .onnx, the ones the validator refuses included: their first bytes still say ONNX.</summary>
    public static TheoryData<string> OnnxModels()
    {
        string root = TestServer.DataPath("onnx");
        return [.. Directory.GetFiles(root, "*.onnx", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(root, p)).Order(StringComparer.Ordinal)];
    }

    /// <summary>The ONNX models that load, and the demo fastText model.</summary>
    public static TheoryData<string> ServableModels() =>
        ["langid", "onnx/any_rank", "onnx/dynamic_hw_conv", "onnx/expand", "onnx/external/model", "onnx/identity_types", "onnx/int64_embedding",
         "onnx/int_division", "onnx/ir3_legacy", "onnx/matmul", "onnx/mlp_classifier", "onnx/multi_io", "onnx/string_label_encoder",
         "onnx/top20", "onnx/zipmap_classifier"];

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [MemberData(nameof(FastTextModels))]
    public void Find_CommittedFastTextModel_IsFastText(string file)
    {
        string path = TestServer.DataPath("fasttext", "models", file);

        Assert.IsType<FastTextBackend>(Catalog.Find(path));
        Assert.Same(Catalog.Find(path), Catalog.Get(path));
    }

    [Theory]
    [MemberData(nameof(OnnxModels))]
    public void Find_CommittedOnnxModel_IsOnnx(string file)
    {
        Assert.IsType<OnnxBackend>(Catalog.Find(TestServer.DataPath("onnx", file)));
    }

    [Fact]
    public void Find_PreparedForms_AreReadByTheBackendsThatMadeThem()
    {
        string image = ModelLoader.PreparedPath(TestServer.DemoModelPath, Cache);
        string baked = ModelLoader.PreparedPath(TestServer.DataPath("onnx", "matmul.onnx"), Cache);

        Assert.EndsWith(ModelImageFormat.Extension, image, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(Cache, "onnx", "matmul-"), baked, StringComparison.Ordinal);
        Assert.IsType<FastTextBackend>(Catalog.Get(image));
        Assert.IsType<OnnxBackend>(Catalog.Get(baked));
    }

    [Fact]
    public void Find_FirstBytesDecide_AndOnnxAlsoNeedsItsExtension()
    {
        byte[] fastText = File.ReadAllBytes(TestServer.DemoModelPath);
        byte[] onnx = File.ReadAllBytes(TestServer.DataPath("onnx", "matmul.onnx"));

        Assert.IsType<FastTextBackend>(Catalog.Find(Write("fasttext.onnx", fastText)));
        Assert.IsType<FastTextBackend>(Catalog.Find(Write("fasttext", fastText)));
        Assert.Null(Catalog.Find(Write("onnx.bin", onnx)));
        Assert.Null(Catalog.Find(Path.Combine(_directory, "missing.bin")));
        Assert.Null(Catalog.Find(_directory));
    }

    [Theory]
    [InlineData("garbage.onnx")]
    [InlineData("truncated.onnx")]
    public void Prepare_CorruptOnnxModel_IsRefusedByTheValidator_WritingNothing(string file)
    {
        ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelLoader.Prepare(TestServer.DataPath("onnx", file), Cache, outputPath: null));

        Assert.Equal($"{file}: corrupt protobuf in the model; not a valid ONNX model", error.Message);
        Assert.False(Directory.Exists(Cache));
    }

    [Fact]
    public void Prepare_TruncatedFastTextModel_SaysWhereItEnds()
    {
        string path = Write("trunc.bin", File.ReadAllBytes(TestServer.DataPath("fasttext", "models", "softmax-default.bin"))[..1000]);

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => ModelLoader.Prepare(path, Cache, outputPath: null));

        Assert.StartsWith("trunc.bin: truncated at byte 1000 while reading ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_QuantizedFastTextModel_IsFastTextsToRefuse()
    {
        string path = TestServer.DataPath("fasttext", "models", "softmax-ng2.ftz");

        Assert.IsType<FastTextBackend>(Catalog.Get(path));
        Assert.Equal(
            "softmax-ng2.ftz: quantized fastText models (.ftz) are not supported yet; use the .bin",
            Assert.Throws<ModelLoadException>(() => ModelLoader.Prepare(path, Cache, outputPath: null)).Message);
    }

    [Theory]
    [InlineData("notes.txt", "just some notes")]
    [InlineData("empty.onnx", "")]
    [InlineData("empty.bin", "")]
    public void Get_FileNoBackendReads_ListsTheSupportedFormats(string name, string content)
    {
        string path = Write(name, System.Text.Encoding.UTF8.GetBytes(content));

        Assert.Null(Catalog.Find(path));
        Assert.Equal($"{path}: not a model format Sharpserve knows ({Supported})", Assert.Throws<ModelLoadException>(() => Catalog.Get(path)).Message);
        Assert.Equal($"{path}: not a model format Sharpserve knows ({Supported})", Assert.Throws<ModelLoadException>(() => ModelLoader.Prepare(path, Cache, null)).Message);
    }

    [Fact]
    public void Get_DamagedImage_SaysWhyAsOpeningItDoes()
    {
        byte[] image = File.ReadAllBytes(ModelLoader.PreparedPath(TestServer.DemoModelPath, Cache));
        image[100] ^= 1; // inside the header, under its checksum
        string path = Write("damaged.ssimg", image);

        Assert.Equal("damaged.ssimg: the image header is corrupt (its checksum does not match)", Assert.Throws<ModelLoadException>(() => Catalog.Get(path)).Message);
        Assert.Equal("damaged.ssimg: the image header is corrupt (its checksum does not match)", Assert.Throws<ModelLoadException>(() => ModelLoader.Open(path, "m")).Message);
    }

    [Fact]
    public void Get_ImageOfABackendThisBuildLacks_NamesThatBackend()
    {
        string path = Path.Combine(_directory, "other.ssimg");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            var writer = new ModelImageWriter(file, "tensorflow", 1, default);
            writer.WriteSection<byte>("tensorflow.graph", [1, 2, 3]);
            writer.Complete();
        }

        Assert.Null(Catalog.Find(path));
        Assert.Equal("other.ssimg: the image was written by the 'tensorflow' backend, which this build does not have", Assert.Throws<ModelLoadException>(() => ModelLoader.Open(path, "m")).Message);
        Assert.Equal("other.ssimg: the image was written by the 'tensorflow' backend, which this build does not have", Assert.Throws<ModelLoadException>(() => ModelLoader.Describe(path, "m")).Message);
    }

    [Theory]
    [MemberData(nameof(ServableModels))]
    public void Describe_OfThePreparedModel_GivesWhatOpeningItGives(string model)
    {
        string source = model == "langid" ? TestServer.DemoModelPath : TestServer.DataPath(model.Split('/')) + ".onnx";
        string name = Path.GetFileName(model);
        string prepared = ModelLoader.PreparedPath(source, Cache);

        ModelDescription described = ModelLoader.Describe(prepared, name);
        using IModel opened = ModelLoader.Open(prepared, name);

        Assert.Equal(Render(opened.Metadata), Render(described.Metadata));
        Assert.Equal(opened.MappedBytes, described.MappedBytes);
        Assert.Equal(Render(opened.Metadata), Render(opened.Description.Metadata));
        // A described warm-up request fits the model's inputs (the front validates it like a client's). An opened
        // ONNX model keeps the first synthesised one that ran; the front, which cannot run any, sends the first.
        InferenceRequest warmup = described.WarmupRequests[0];
        Assert.Equal(described.Metadata.Inputs.Select(i => i.Name), warmup.Inputs.Select(t => t.Name));
        Assert.All(described.Metadata.Inputs, i => Assert.True(i.Accepts(warmup.FindInput(i.Name)!.Shape), $"input '{i.Name}'"));
        if (opened is FastTextModel)
        {
            Assert.Equal(opened.WarmupRequests.Select(Render), described.WarmupRequests.Select(Render));
        }
    }

    [Fact]
    public void Backends_EachRegisteredOnce_WithTheNamesAndFilesAModelRepositoryUses()
    {
        Assert.Equal(["onnxruntime", "fasttext"], Catalog.Backends.Select(b => b.Name));
        Assert.Equal(["model.onnx", "model.bin"], Catalog.Backends.Select(b => b.DefaultFileName));
        Assert.IsType<OnnxBackend>(Catalog.FindByName("onnxruntime"));
        Assert.Null(Catalog.FindByName("onnx"));
        Assert.IsType<FastTextBackend>(Catalog.FindByFileName("/models/m/1/weights.BIN"));
        Assert.IsType<OnnxBackend>(Catalog.FindByFileName("classifier.onnx"));
        Assert.Null(Catalog.FindByFileName("model"));
        Assert.Null(Catalog.FindByFileName("model.ftz"));
        Assert.Throws<ArgumentException>(() => new BackendCatalog([new FastTextBackend(), new FastTextBackend()]));
        Assert.Throws<ArgumentException>(() => new BackendCatalog([]));
    }

    private static string Render(ModelMetadata metadata) =>
        $"{metadata.Name} {metadata.Platform} in: {Render(metadata.Inputs)} out: {Render(metadata.Outputs)}";

    private static string Render(IReadOnlyList<TensorMetadata> tensors) =>
        string.Join("; ", tensors.Select(t => $"{t.Name} {t.DataType} [{string.Join(",", t.Shape)}]{(t.AnyRank ? " any rank" : "")}"));

    private static string Render(InferenceRequest request) =>
        $"k={request.Parameters.TopK} threshold={request.Parameters.Threshold} " + string.Join("; ", request.Inputs.Select(t =>
            $"{t.Name} {t.DataType} [{string.Join(",", t.Shape)}] " +
            (t.BytesData is { } bytes ? string.Join("|", bytes.Select(b => System.Text.Encoding.UTF8.GetString(b))) : Convert.ToHexString(t.RawData))));
}
