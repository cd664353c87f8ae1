using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx.Tests;

public sealed class OnnxModelValidatorTests
{
    private static string External(string name) => Path.Combine(OnnxTestData.Directory, "external", name);

    [Theory]
    [InlineData("outside.onnx", "contains '..'")]
    [InlineData("absolute.onnx", "must be a relative path")]
    [InlineData("marker.onnx", "special marker")]
    [InlineData("missing.onnx", "does not exist")]
    [InlineData("too_long.onnx", "its shape needs")]
    public void BadExternalData_IsRefusedBeforeOnnxRuntimeLoadsIt(string file, string message)
    {
        var e = Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(External(file), "m"));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'w2'", e.Message, StringComparison.Ordinal);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExternalData_ThroughASymlinkOutsideTheFolder_IsRefused()
    {
        using var temp = new TempDirectory();
        using var outside = new TempDirectory();
        string modelDir = Directory.CreateDirectory(temp.File("model")).FullName;
        File.Copy(External("symlink.onnx"), Path.Combine(modelDir, "symlink.onnx"));
        File.Copy(External("weights.bin"), Path.Combine(modelDir, "weights.bin"));
        File.Copy(External("weights.bin"), outside.File("secret.bin"));
        File.CreateSymbolicLink(Path.Combine(modelDir, "link.bin"), outside.File("secret.bin"));

        var e = Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(Path.Combine(modelDir, "symlink.onnx"), "m"));

        Assert.Contains("resolves outside the model's folder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExternalData_ThroughASymlinkInsideTheFolder_IsAccepted()
    {
        using var temp = new TempDirectory();
        File.Copy(External("symlink.onnx"), temp.File("symlink.onnx"));
        File.Copy(External("weights.bin"), temp.File("weights.bin"));
        File.CreateSymbolicLink(temp.File("link.bin"), "weights.bin");

        using IModel model = new OnnxBackend().Open(temp.File("symlink.onnx"), "m");

        Assert.Equal(848, model.MappedBytes);
    }

    [Fact]
    public void ExternalData_ATruncatedDataFile_IsRefused()
    {
        using var temp = new TempDirectory();
        File.Copy(External("model.onnx"), temp.File("model.onnx"));
        File.WriteAllBytes(temp.File("weights.bin"), File.ReadAllBytes(External("weights.bin"))[..100]);

        var e = Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(temp.File("model.onnx"), "m"));

        Assert.Contains("which has only 100", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("truncated.onnx")]
    [InlineData("garbage.onnx")]
    public void CorruptModel_IsAModelLoadException(string file)
    {
        var e = Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(Path.Combine(OnnxTestData.Directory, file), "m"));

        Assert.Contains(file, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyFile_IsRefused()
    {
        using var temp = new TempDirectory();
        File.WriteAllBytes(temp.File("empty.onnx"), []);

        Assert.False(new OnnxBackend().CanLoad(temp.File("empty.onnx")));
        Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(temp.File("empty.onnx"), "m"));
    }

    [Fact]
    public void CanLoad_NeedsTheExtensionAndAModelProtoStart()
    {
        using var temp = new TempDirectory();
        File.Copy(OnnxTestData.Model("mlp_classifier"), temp.File("model.bin"));
        File.WriteAllText(temp.File("text.onnx"), "hello, not protobuf");

        Assert.True(new OnnxBackend().CanLoad(OnnxTestData.Model("mlp_classifier")));
        Assert.False(new OnnxBackend().CanLoad(temp.File("model.bin")));
        Assert.False(new OnnxBackend().CanLoad(temp.File("text.onnx")));
        Assert.False(new OnnxBackend().CanLoad(temp.File("nothere.onnx")));
    }

    [Fact]
    public void MappedFiles_AreTheModelAndTheExternalDataItNames()
    {
        var backend = new OnnxBackend();

        Assert.Equal([OnnxTestData.Model("external/model"), External("weights.bin")], backend.MappedFiles(OnnxTestData.Model("external/model")));
        Assert.Equal([OnnxTestData.Model("mlp_classifier")], backend.MappedFiles(OnnxTestData.Model("mlp_classifier")));
        Assert.Throws<ModelLoadException>(() => backend.MappedFiles(External("outside.onnx")));
    }

    [Theory]
    [InlineData("truncated.onnx")]
    [InlineData("garbage.onnx")]
    public void Validate_RefusesACorruptModel_AsOpenDoes(string file)
    {
        string path = Path.Combine(OnnxTestData.Directory, file);

        Assert.Equal(
            Assert.Throws<ModelLoadException>(() => new OnnxBackend().Open(path, "m")).Message,
            Assert.Throws<ModelLoadException>(() => new OnnxBackend().Validate(path)).Message);
    }
}
