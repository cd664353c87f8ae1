using Sharpserve.Abstractions;
using Sharpserve.Testing;

namespace Sharpserve.Backends.Onnx.Tests;

public sealed class OnnxBakeCacheTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly List<string> _log = [];

    public void Dispose() => _temp.Dispose();

    private OnnxBackend Backend(Func<OnnxBackendOptions, OnnxBackendOptions>? configure = null)
    {
        var options = new OnnxBackendOptions { CacheDirectory = _temp.File("cache"), Log = m => { lock (_log) { _log.Add(m); } } };
        return new OnnxBackend(configure is null ? options : configure(options));
    }

    private string CopyModel(string name)
    {
        string path = _temp.File(name + ".onnx");
        File.Copy(OnnxTestData.Model(name), path, overwrite: true);
        return path;
    }

    private static void AssertMatchesReference(IModel model, string name)
    {
        (List<Tensor> inputs, List<Tensor> outputs) = OnnxTestData.Expected(name);
        using IModelSession session = model.CreateSession();
        InferResult result = session.Infer(new InferenceRequest(inputs, InferenceParameters.Default));
        Assert.True(result.IsSuccess, result.Error?.Message);
        for (int i = 0; i < outputs.Count; i++)
        {
            OnnxTestData.AssertClose(outputs[i], result.Response!.Outputs[i]);
        }
    }

    [Fact]
    public void Load_BakesOnce_ThenReusesTheBakedModel()
    {
        string source = CopyModel("mlp_classifier");
        OnnxBackend backend = Backend();

        (string baked, bool built, string reason) = backend.Bake(source);
        (string again, bool builtAgain, _) = backend.Bake(source);
        using IModel model = backend.Open(source, "m");

        Assert.True(built);
        Assert.Equal("not baked yet", reason);
        Assert.False(builtAgain);
        Assert.Equal(baked, again);
        Assert.StartsWith(Path.Combine(_temp.File("cache"), "onnx", "mlp_classifier-"), baked, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(baked)!, "model.data")));
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(baked)!, "bake.json")));
        Assert.Equal(OnnxWeightSharing.Prepacked, ((OnnxModel)model).Sharing);
        Assert.Equal(new FileInfo(Path.Combine(Path.GetDirectoryName(baked)!, "model.data")).Length, model.MappedBytes);
        Assert.Single(Directory.GetDirectories(Path.Combine(_temp.File("cache"), "onnx")), d => !d.EndsWith("sources", StringComparison.Ordinal));
        AssertMatchesReference(model, "mlp_classifier");
    }

    [Fact]
    public void Bake_ReportsHashingOptimizingAndChecking_AndNothingOfTheBakeAfterIt()
    {
        string source = OnnxTestData.Model("external/model");
        long sourceBytes = new FileInfo(source).Length + new FileInfo(Path.Combine(OnnxTestData.Directory, "external", "weights.bin")).Length;
        var progress = new RecordingProgress();

        Backend().Bake(source, progress);

        // ONNX Runtime's writing is seen only if a poll falls while its files grow; the rest is always reported.
        IReadOnlyList<string> steps = progress.Steps;
        Assert.Equal(
            [OnnxBakeCache.HashingStep, OnnxBakeCache.OptimizingStep, OnnxBakeCache.CheckingStep],
            steps.Where(s => s != OnnxBakeCache.WritingStep));
        Assert.Equal(OnnxBakeCache.CheckingStep, steps[^1]);
        Assert.Equal(new ProgressReport(OnnxBakeCache.HashingStep, sourceBytes, sourceBytes), progress.Reports.Last(r => r.Step == OnnxBakeCache.HashingStep));
        Assert.All(progress.Reports, r => Assert.Equal(r.Step == OnnxBakeCache.HashingStep ? sourceBytes : null, r.BytesTotal));
    }

    [Fact]
    public void Load_OfABakedPath_LoadsItAsItIs()
    {
        OnnxBackend backend = Backend();
        (string baked, _, _) = backend.Bake(CopyModel("int64_embedding"));

        using IModel model = backend.Open(baked, "m");

        Assert.Equal(OnnxWeightSharing.Prepacked, ((OnnxModel)model).Sharing);
        Assert.Single(Directory.GetDirectories(Path.Combine(_temp.File("cache"), "onnx")), d => !d.EndsWith("sources", StringComparison.Ordinal));
        AssertMatchesReference(model, "int64_embedding");
    }

    [Fact]
    public void ChangedSource_GetsANewBake()
    {
        OnnxBackend backend = Backend();
        string source = CopyModel("mlp_classifier");
        (string first, _, _) = backend.Bake(source);
        File.Copy(OnnxTestData.Model("int64_embedding"), source, overwrite: true);

        (string second, bool built, _) = backend.Bake(source);

        Assert.True(built);
        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData("truncate-data", "model.data has")]
    [InlineData("corrupt-manifest", "corrupt")]
    [InlineData("no-manifest", "no manifest")]
    [InlineData("garbage-model", "corrupt")]
    public void StaleOrCorruptBake_IsBakedAgain(string damage, string reason)
    {
        OnnxBackend backend = Backend();
        string source = CopyModel("mlp_classifier");
        (string baked, _, _) = backend.Bake(source);
        string folder = Path.GetDirectoryName(baked)!;
        switch (damage)
        {
            case "truncate-data":
                File.WriteAllBytes(Path.Combine(folder, "model.data"), new byte[10]);
                break;
            case "corrupt-manifest":
                File.WriteAllText(Path.Combine(folder, "bake.json"), "{ not json");
                break;
            case "no-manifest":
                File.Delete(Path.Combine(folder, "bake.json"));
                break;
            case "garbage-model":
                File.WriteAllBytes(Path.Combine(folder, "model.onnx"), [0x08, 0x07, 0, 0, 0]);
                break;
        }

        (string rebaked, bool built, string why) = backend.Bake(source);
        using IModel model = backend.Open(source, "m");

        Assert.True(built);
        Assert.Contains(reason, why, StringComparison.Ordinal);
        Assert.Equal(baked, rebaked);
        AssertMatchesReference(model, "mlp_classifier");
    }

    [Fact]
    public void ConcurrentBakes_OfOneSource_PublishOneFolder()
    {
        string source = CopyModel("matmul");
        var paths = new string[4];

        Parallel.For(0, paths.Length, i => paths[i] = Backend().Bake(source).BakedPath);

        Assert.All(paths, p => Assert.Equal(paths[0], p));
        Assert.Single(Directory.GetDirectories(Path.Combine(_temp.File("cache"), "onnx")), d => !d.EndsWith("sources", StringComparison.Ordinal));
        using IModel model = Backend().Open(source, "m");
        AssertMatchesReference(model, "matmul");
    }

    [Fact]
    public void SourceHash_IsMemoized_WhileTheFingerprintHolds()
    {
        string source = CopyModel("matmul");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddHours(-1));
        OnnxBackend backend = Backend();
        (string first, _, _) = backend.Bake(source);
        string memo = Assert.Single(Directory.GetFiles(Path.Combine(_temp.File("cache"), "onnx", "sources")));

        // The memo is trusted while path, size and mtime match: a forged hash shows that it was used...
        string text = File.ReadAllText(memo);
        File.WriteAllText(memo, System.Text.RegularExpressions.Regex.Replace(text, "\"content\":\"[0-9a-f]+\"", "\"content\":\"1\""));
        (string forged, bool built, _) = backend.Bake(source);
        Assert.True(built);
        Assert.NotEqual(first, forged);

        // ...and a touched source is hashed again, finding the first bake.
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow.AddHours(-2));
        (string again, bool builtAgain, _) = backend.Bake(source);
        Assert.False(builtAgain);
        Assert.Equal(first, again);
    }

    [Fact]
    public void RecentlyModifiedSource_IsNotMemoized()
    {
        string source = CopyModel("matmul");
        File.SetLastWriteTimeUtc(source, DateTime.UtcNow);

        Backend().Bake(source);

        Assert.False(Directory.Exists(Path.Combine(_temp.File("cache"), "onnx", "sources")));
    }

    [Fact]
    public void BakeFailure_FallsBackToNoPrepack_AndSaysSo()
    {
        File.WriteAllText(_temp.File("cache"), "a file where the cache directory should be");
        string source = CopyModel("mlp_classifier");

        using IModel model = Backend().Open(source, "m");

        Assert.Equal(OnnxWeightSharing.NoPrepack, ((OnnxModel)model).Sharing);
        Assert.Contains(_log, m => m.Contains("serving with prepacking off (noprepack", StringComparison.Ordinal));
        AssertMatchesReference(model, "mlp_classifier");
    }

    [Fact]
    public void BakeFailure_WithoutFallback_FailsTheLoad()
    {
        File.WriteAllText(_temp.File("cache"), "a file where the cache directory should be");

        var e = Assert.Throws<ModelLoadException>(() => Backend(o => o with { FallbackToNoPrepack = false }).Open(CopyModel("mlp_classifier"), "m"));

        Assert.Contains("cannot write the baked model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnonymousMemoryOverBudget_WarnsOrFailsWhenStrict()
    {
        long calls = 0;
        long FakeProbe() => Interlocked.Increment(ref calls) % 2 == 1 ? 0 : 100L << 20;
        string source = CopyModel("mlp_classifier");

        using (IModel model = Backend(o => o with { AnonymousMemoryProbe = FakeProbe }).Open(source, "m"))
        {
            Assert.Equal(100L << 20, ((OnnxModel)model).SessionAnonymousBytes);
        }

        var e = Assert.Throws<ModelLoadException>(() => Backend(o => o with { AnonymousMemoryProbe = FakeProbe, StrictSharing = true }).Open(source, "m"));

        Assert.Contains(_log, m => m.Contains("over the budget of 64 MiB", StringComparison.Ordinal));
        Assert.Contains("strict sharing", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1L << 20, 64L << 20)] // small model: the floor for a session's own structures
    [InlineData(768L << 20, 384L << 20)] // large model: half the weights; a private copy is about all of them
    public void DefaultAnonymousBudget_IsHalfTheWeights_AtLeast64MiB(long weights, long budget)
    {
        Assert.Equal(budget, OnnxBackendOptions.DefaultAnonymousMemoryBudget(weights));
        Assert.Equal(budget, new OnnxBackendOptions().AnonymousMemoryBudgetFor(weights));
        Assert.Equal(10L << 20, new OnnxBackendOptions { AnonymousMemoryBudget = 10L << 20 }.AnonymousMemoryBudgetFor(weights));
    }

    [Fact]
    public void BakedModel_KeepsWeightsAndPrepackedWeightsInTheSharedFile()
    {
        OnnxBackend backend = Backend();
        (string baked, _, _) = backend.Bake(CopyModel("matmul"));

        OnnxModelFile file = OnnxModelValidator.Validate(baked);
        using IModel model = backend.Open(baked, "m");

        Assert.Equal(2, file.ExternalTensorCount);
        Assert.Single(file.ExternalFiles);
        Assert.True(file.PrepackedBlobCount >= 1, "ONNX Runtime saved no prepacked weights");
        AssertMatchesReference(model, "matmul");
    }
}
