using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <see cref="ModelRepository.Scan"/> on temp folders: layouts, config.json variants, and every start-up error.
/// Scanning opens no model, so the model files here are empty.
/// </summary>
public sealed class ModelRepositoryTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpserve-repo-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Add(string relativePath, string content = "")
    {
        string path = Path.Combine(_root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private string Folder(string relativePath) => Directory.CreateDirectory(Path.Combine(_root, relativePath)).FullName;

    private ModelRepository ScanValid()
    {
        ModelRepository repository = ModelRepository.Scan(_root);
        Assert.True(repository.Problems.Count == 0, string.Join("\n", repository.Problems));
        return repository;
    }

    private string ScanSingleProblem()
    {
        ModelRepository repository = ModelRepository.Scan(_root);
        return Assert.Single(repository.Problems);
    }

    private static string[] Versions(ModelRepository repository, string name) =>
        [.. repository.Entries.Where(e => e.Name == name).Select(e => e.Version)];

    [Fact]
    public void Scan_ListsModelsInNameOrder_WithTheLatestVersionByDefault()
    {
        Add("text/1/model.bin");
        Add("text/2/model.bin");
        string onnx = Add("Mlp/7/model.onnx");
        Add("README.md", "files at the top are not models");

        ModelRepository repository = ScanValid();

        Assert.Equal(2, repository.Entries.Count);
        Assert.Equal(new ModelRepository.Entry("Mlp", "7", onnx, "onnxruntime"), repository.Entries[0]); // ordinal: 'M' < 't'
        Assert.Equal(new ModelRepository.Entry("text", "2", Path.Combine(_root, "text", "2", "model.bin"), "fasttext"), repository.Entries[1]);
    }

    [Fact]
    public void Scan_SkipsHiddenEntriesEverywhere()
    {
        Add("text/1/model.bin");
        Add("text/.2/model.bin");
        Add(".git/1/model.bin");
        Folder("text/.staging");

        ModelRepository repository = ScanValid();

        ModelRepository.Entry entry = Assert.Single(repository.Entries);
        Assert.Equal(("text", "1"), (entry.Name, entry.Version));
    }

    [Theory]
    [InlineData("""{"version_policy": {"all": {}}}""", new[] { "1", "2", "10" })]
    [InlineData("""{"version_policy": {"latest": {"num_versions": 2}}}""", new[] { "2", "10" })]
    [InlineData("""{"version_policy": {"latest": {}}}""", new[] { "10" })]
    [InlineData("""{"version_policy": {"latest": {"num_versions": 5}}}""", new[] { "1", "2", "10" })]
    [InlineData("""{"version_policy": {"specific": {"versions": [10, 1]}}}""", new[] { "1", "10" })]
    [InlineData("""{"name": "text", "backend": "fasttext"}""", new[] { "10" })]
    public void Scan_VersionPolicy_SelectsVersionsInNumericOrder(string config, string[] expected)
    {
        Add("text/config.json", config);
        Add("text/1/model.bin");
        Add("text/2/model.bin");
        Add("text/10/model.bin");

        ModelRepository repository = ScanValid();

        Assert.Equal(expected, Versions(repository, "text"));
    }

    [Fact]
    public void Scan_DefaultModelFilename_NamesTheFile_AndItsExtensionTheBackend()
    {
        Add("mlp/config.json", """{"default_model_filename": "classifier.onnx", "backend": "onnxruntime"}""");
        string file = Add("mlp/1/classifier.onnx");
        Add("mlp/1/model.bin");

        ModelRepository.Entry entry = Assert.Single(ScanValid().Entries);

        Assert.Equal(file, entry.ModelPath);
        Assert.Equal("onnxruntime", entry.Backend);
    }

    [Theory]
    [InlineData("fasttext", "model.bin")]
    [InlineData("onnxruntime", "model.onnx")]
    public void Scan_Backend_ChoosesBetweenModelOnnxAndModelBin(string backend, string file)
    {
        Add("m/config.json", $$"""{"backend": "{{backend}}"}""");
        Add("m/1/model.onnx");
        Add("m/1/model.bin");

        ModelRepository.Entry entry = Assert.Single(ScanValid().Entries);

        Assert.Equal(Path.Combine(_root, "m", "1", file), entry.ModelPath);
        Assert.Equal(backend, entry.Backend);
    }

    [Fact]
    public void Scan_BackendOfAModelFile_ComesFromItsFirstBytes_ThenFromItsExtension()
    {
        byte[] fastText = File.ReadAllBytes(TestServer.DemoModelPath);
        File.WriteAllBytes(Add("misnamed/1/model.onnx"), fastText);
        Add("quantized/config.json", """{"default_model_filename": "model.ftz"}""");
        File.WriteAllBytes(Add("quantized/1/model.ftz"), fastText);
        Add("unknown/config.json", """{"default_model_filename": "weights.dat"}""");
        Add("unknown/1/weights.dat", "nothing any backend reads");

        ModelRepository repository = ScanValid();

        Assert.Equal(
            [("misnamed", "fasttext"), ("quantized", "fasttext"), ("unknown", null)],
            repository.Entries.Select(e => (e.Name, e.Backend)));
    }

    [Fact]
    public void Scan_KnowsTheBackendsOfItsCatalog_ByTheirNamesAndFiles()
    {
        Add("named/config.json", """{"backend": "onnxruntime"}""");
        Add("named/1/model.onnx");
        Add("unnamed/1/model.onnx");

        ModelRepository repository = ModelRepository.Scan(_root, catalog: new BackendCatalog([new FastTextBackend()]));

        Assert.Equal(2, repository.Problems.Count);
        Assert.Contains(repository.Problems, p => p.EndsWith("backend must be 'fasttext' or 'python', got 'onnxruntime'", StringComparison.Ordinal));
        Assert.Contains(repository.Problems, p => p == Path.Combine(_root, "unnamed", "1") + ": no model file; expected model.bin");
    }

    [Fact]
    public void Scan_APythonModel_IsItsVersionFolderAndEntry_DefaultingToModelColonModel()
    {
        Add("py/config.json", """{"backend": "python"}""");
        Add("py/1/model.py", "class Model: pass\n");
        Add("pkg/config.json", """{"backend": "python", "entry": "service.app:make"}""");
        Add("pkg/2/service/__init__.py");

        ModelRepository repository = ScanValid();

        ModelRepository.Entry py = Assert.Single(repository.Entries, e => e.Name == "py");
        Assert.Equal(("python", "model:Model", Path.Combine(_root, "py", "1")), (py.Backend, py.PythonEntry, py.ModelPath));
        ModelRepository.Entry pkg = Assert.Single(repository.Entries, e => e.Name == "pkg");
        Assert.Equal(("service.app:make", "2"), (pkg.PythonEntry, pkg.Version));
    }

    [Theory]
    [InlineData("""{"backend": "python", "entry": "model"}""", "py/1/model.py", "entry must be MODULE:ATTR")]
    [InlineData("""{"entry": "model:Model"}""", "py/1/model.py", "entry is for Python models")]
    [InlineData("""{"backend": "python", "default_model_filename": "x.py"}""", "py/1/model.py", "does not apply to a Python model")]
    [InlineData("""{"backend": "python", "entry": "svc:Model"}""", "py/1/model.py", "no svc.py (or svc/__init__.py)")]
    public void Scan_APythonModelMisconfigured_IsAProblemSayingWhat(string config, string file, string message)
    {
        Add("py/config.json", config);
        Add(file);

        Assert.Contains(message, ScanSingleProblem(), StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_ModelOnnxAndModelBinWithoutConfig_IsAmbiguous()
    {
        Add("m/1/model.onnx");
        Add("m/1/model.bin");

        string problem = ScanSingleProblem();

        Assert.StartsWith(Path.Combine(_root, "m", "1") + ":", problem, StringComparison.Ordinal);
        Assert.Contains("has both model.onnx and model.bin", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ScanSingleModel_AFolderHoldingTheModelFile_IsVersionOne()
    {
        string model = Add("model.bin");
        Add("README.md");

        ModelRepository repository = ModelRepository.ScanSingleModel(_root, "langid");

        Assert.Empty(repository.Problems);
        Assert.Equal(new ModelRepository.Entry("langid", "1", model, "fasttext"), Assert.Single(repository.Entries));
    }

    [Fact]
    public void ScanSingleModel_AFolderWithVersionFolders_IsTheModelFolder_WithItsConfig()
    {
        Add("1/model.onnx");
        string latest = Add("2/model.onnx");
        Add("config.json", """{"name": "mlp", "backend": "onnxruntime"}""");

        ModelRepository repository = ModelRepository.ScanSingleModel(_root, "mlp");

        Assert.Empty(repository.Problems);
        Assert.Equal(new ModelRepository.Entry("mlp", "2", latest, "onnxruntime"), Assert.Single(repository.Entries));
    }

    [Fact]
    public void ScanSingleModel_ARepositoryHoldingTheNamedFolder_ServesThatFolderOnly()
    {
        string model = Add("text/3/model.bin");
        Add("other/1/model.onnx");

        ModelRepository repository = ModelRepository.ScanSingleModel(_root, "text");

        Assert.Empty(repository.Problems);
        Assert.Equal(new ModelRepository.Entry("text", "3", model, "fasttext"), Assert.Single(repository.Entries));
    }

    [Fact]
    public void ScanSingleModel_APythonModelFolder_IsItsEntryAsVersionOne()
    {
        Add("config.json", """{"backend": "python"}""");
        Add("model.py", "class Model: pass\n");

        ModelRepository repository = ModelRepository.ScanSingleModel(_root, "py");

        Assert.Empty(repository.Problems);
        Assert.Equal(new ModelRepository.Entry("py", "1", _root, "python", "model:Model"), Assert.Single(repository.Entries));
    }

    [Fact]
    public void ScanSingleModel_AFolderWithoutAModel_IsAProblemNamingTheFolder()
    {
        Add("notes.txt");

        string problem = Assert.Single(ModelRepository.ScanSingleModel(_root, "langid").Problems);

        Assert.Equal(_root + ": no model file; expected model.onnx (ONNX) or model.bin (fastText)", problem);
    }

    [Fact]
    public void ScanSingleModel_AConfigNamingAnotherModel_IsAProblem()
    {
        Add("model.bin");
        Add("config.json", """{"name": "other"}""");

        string problem = Assert.Single(ModelRepository.ScanSingleModel(_root, "langid").Problems);

        Assert.StartsWith(Path.Combine(_root, "config.json") + ":", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void ScanSingleModel_MissingDirectory_IsAProblemNamingTheSetting()
    {
        string missing = Path.Combine(_root, "nope");

        Assert.Equal($"--model-repository '{missing}' does not exist", Assert.Single(ModelRepository.ScanSingleModel(missing, "m").Problems));
    }

    [Fact]
    public void Scan_MissingDirectory_IsAProblemNamingIt()
    {
        string missing = Path.Combine(_root, "nope");

        ModelRepository repository = ModelRepository.Scan(missing, "SHARPSERVE_MODEL_REPOSITORY");

        Assert.Equal($"SHARPSERVE_MODEL_REPOSITORY '{missing}' does not exist", Assert.Single(repository.Problems));
        Assert.Empty(repository.Entries);
    }

    [Fact]
    public void Scan_AFileInsteadOfADirectory_IsAProblem()
    {
        string file = Add("model.bin");

        Assert.Contains("is a file, not a directory", Assert.Single(ModelRepository.Scan(file).Problems), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://example.com/models")]
    [InlineData("s3://bucket/models")]
    public void Scan_Url_IsRefused(string url)
    {
        string problem = Assert.Single(ModelRepository.Scan(url).Problems);

        Assert.Contains(url, problem, StringComparison.Ordinal);
        Assert.Contains("not from URLs", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_EmptyRepository_IsAProblem()
    {
        Add("README.md");
        Folder(".hidden/1");

        string problem = ScanSingleProblem();

        Assert.StartsWith(_root + ":", problem, StringComparison.Ordinal);
        Assert.Contains("has no models", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_ModelWithoutVersionFolders_IsAProblem()
    {
        Add("text/model.bin");

        string problem = ScanSingleProblem();

        Assert.StartsWith(Path.Combine(_root, "text") + ":", problem, StringComparison.Ordinal);
        Assert.Contains("no version folders", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "expected model.onnx (ONNX) or model.bin (fastText)")]
    [InlineData("""{"backend": "fasttext"}""", "expected model.bin")]
    [InlineData("""{"default_model_filename": "weights.onnx"}""", "expected weights.onnx (default_model_filename in ")]
    public void Scan_VersionFolderWithoutModelFile_IsAProblem(string config, string message)
    {
        if (config.Length > 0)
        {
            Add("text/config.json", config);
        }

        Add("text/1/notes.txt");

        string problem = ScanSingleProblem();

        Assert.StartsWith(Path.Combine(_root, "text", "1") + ": no model file", problem, StringComparison.Ordinal);
        Assert.Contains(message, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_VersionsThePolicyDoesNotSelect_NeedNoModelFile()
    {
        Folder("text/1");
        Add("text/2/model.bin");

        Assert.Equal(["2"], Versions(ScanValid(), "text"));
    }

    [Fact]
    public void Scan_SpecificVersionWithoutFolder_IsAProblemNamingTheConfig()
    {
        string config = Add("text/config.json", """{"version_policy": {"specific": {"versions": [1, 3]}}}""");
        Add("text/1/model.bin");

        string problem = ScanSingleProblem();

        Assert.StartsWith(config + ":", problem, StringComparison.Ordinal);
        Assert.Contains("lists version 3", problem, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_root, "text", "3"), problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("01")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("v1")]
    [InlineData("1.0")]
    [InlineData("99999999999999999999")]
    public void Scan_VersionFolderThatIsNotAPositiveInteger_IsAProblemNamingIt(string folder)
    {
        Add("text/1/model.bin");
        Folder(Path.Combine("text", folder));

        string problem = ScanSingleProblem();

        Assert.StartsWith(Path.Combine(_root, "text", folder) + ":", problem, StringComparison.Ordinal);
        Assert.Contains("must be a version number", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("café")]
    [InlineData("a+b")]
    public void Scan_ModelFolderThatIsNotAValidName_IsAProblemNamingIt(string name)
    {
        Add(Path.Combine(name, "1", "model.bin"));

        string problem = ScanSingleProblem();

        Assert.StartsWith(Path.Combine(_root, name) + ":", problem, StringComparison.Ordinal);
        Assert.Contains("not a valid model name", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{", "malformed JSON")]
    [InlineData("""{"name": "text",}""", "malformed JSON")]
    [InlineData("[]", "must be a JSON object, got an array")]
    [InlineData("""{"instance_group": []}""", "unknown field 'instance_group' (known: name, backend, default_model_filename, version_policy, entry, max_batch_size, dynamic_batching)")]
    [InlineData("""{"version_policy": {"latest": {"num_versions": 1, "n": 2}}}""", "unknown field 'version_policy.latest.n' (known: num_versions)")]
    [InlineData("""{"version_policy": {"all": {"x": 1}}}""", "unknown field 'version_policy.all.x' (it takes no fields)")]
    [InlineData("""{"version_policy": {"newest": {}}}""", "unknown field 'version_policy.newest'")]
    [InlineData("""{"backend": "fasttext", "backend": "fasttext"}""", "field 'backend' is given twice")]
    [InlineData("""{"name": "other"}""", "name 'other' must equal the model folder's name 'text'")]
    [InlineData("""{"name": 1}""", "name must be a string, got the number 1")]
    [InlineData("""{"backend": "tensorflow"}""", "backend must be 'onnxruntime', 'fasttext' or 'python', got 'tensorflow'")]
    [InlineData("""{"default_model_filename": "../model.bin"}""", "default_model_filename must be a file name")]
    [InlineData("""{"default_model_filename": ".model.bin"}""", "default_model_filename must be a file name")]
    [InlineData("""{"version_policy": "latest"}""", "version_policy must be an object")]
    [InlineData("""{"version_policy": {"latest": {}, "all": {}}}""", "exactly one of 'latest', 'all', 'specific', got 2")]
    [InlineData("""{"version_policy": {"latest": {"num_versions": 0}}}""", "version_policy.latest.num_versions must be a positive integer, got 0")]
    [InlineData("""{"version_policy": {"latest": {"num_versions": "2"}}}""", "version_policy.latest.num_versions must be a positive integer")]
    [InlineData("""{"version_policy": {"specific": {"versions": []}}}""", "version_policy.specific.versions must be a non-empty array")]
    [InlineData("""{"version_policy": {"specific": {"versions": ["1"]}}}""", "version_policy.specific.versions must hold positive integers, got \"1\"")]
    [InlineData("""{"version_policy": {"specific": {"versions": [1.5]}}}""", "must hold positive integers, got 1.5")]
    [InlineData("""{"backend": "onnxruntime", "default_model_filename": "model.bin"}""", "backend 'onnxruntime' does not match the model file")]
    public void Scan_InvalidConfig_IsAProblemNamingTheFileAndTheField(string config, string message)
    {
        string path = Add("text/config.json", config);
        Add("text/1/model.bin");

        ModelRepository repository = ModelRepository.Scan(_root);

        Assert.NotEmpty(repository.Problems);
        Assert.All(repository.Problems, p => Assert.StartsWith(path + ":", p, StringComparison.Ordinal));
        Assert.Contains(repository.Problems, p => p.Contains(message, StringComparison.Ordinal));
        Assert.Empty(repository.Entries);
    }

    [Fact]
    public void Scan_ReportsEveryProblemAtOnce_AndStillListsTheGoodModels()
    {
        Add("a/config.json", """{"bogus": true}""");
        Add("a/1/model.bin");
        Folder("b/1");
        Add("c/1/model.bin");
        Folder("c/latest");
        Add("d/1/model.onnx");

        ModelRepository repository = ModelRepository.Scan(_root);

        Assert.Equal(3, repository.Problems.Count);
        Assert.Contains(repository.Problems, p => p.StartsWith(Path.Combine(_root, "a", "config.json"), StringComparison.Ordinal));
        Assert.Contains(repository.Problems, p => p.StartsWith(Path.Combine(_root, "b", "1"), StringComparison.Ordinal));
        Assert.Contains(repository.Problems, p => p.StartsWith(Path.Combine(_root, "c", "latest"), StringComparison.Ordinal));
        Assert.Equal("d", Assert.Single(repository.Entries).Name);
    }

    [Theory]
    [InlineData("langid", true)]
    [InlineData("my_model-v2.1", true)]
    [InlineData("", false)]
    [InlineData(".hidden", false)]
    [InlineData("a/b", false)]
    [InlineData("a%20b", false)]
    public void IsValidModelName_AllowsUrlSafeNamesOnly(string name, bool valid)
    {
        Assert.Equal(valid, ModelRepository.IsValidModelName(name));
    }
}
