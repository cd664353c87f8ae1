using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Images;

/// <summary>
/// A backend for cache tests: a source is a text file starting with "FAKE"; its image holds the whole file in
/// section "fake.data" (checked on open) and the file's length as a long in "fake.length".
/// </summary>
internal sealed class FakeImageBackend(int imageFormatVersion = 1) : IModelImageBackend
{
    public const string DataSection = "fake.data";

    private int _writes;

    public string Name => "fake";

    public string DisplayName => "Fake";

    public string FormatName => "fake .fake";

    public string DefaultFileName => "model.fake";

    public int ImageFormatVersion { get; } = imageFormatVersion;

    /// <summary>How many images this backend has written.</summary>
    public int Writes => _writes;

    /// <summary>Runs inside <see cref="WriteImage"/> after the source is read, before the sections are written.</summary>
    public Action<int>? DuringWrite { get; set; }

    public static void WriteSource(string path, string text) => File.WriteAllText(path, "FAKE" + text);

    public bool CanLoad(string path) => File.ReadAllText(path).StartsWith("FAKE", StringComparison.Ordinal);

    public void Validate(string path)
    {
        if (!CanLoad(path))
        {
            throw new ModelLoadException($"{Path.GetFileName(path)}: not a fake model");
        }
    }

    public ModelPreparation Prepare(string sourcePath, ModelPreparationContext context) => context.Images.Prepare(sourcePath, this);

    public ModelDescription Describe(string preparedPath, string modelName) => ((IModel)new FakeModel(modelName)).Description;

    public IModel Open(string path, string modelName) => new FakeModel(modelName);

    public IReadOnlyList<string> MappedFiles(string preparedPath) => [Path.GetFullPath(preparedPath)];

    public void WriteImage(string sourcePath, ModelImageWriter writer)
    {
        int write = Interlocked.Increment(ref _writes);
        byte[] data = File.ReadAllBytes(sourcePath);
        if (!Encoding.ASCII.GetString(data, 0, Math.Min(4, data.Length)).Equals("FAKE", StringComparison.Ordinal))
        {
            throw new ModelLoadException($"{Path.GetFileName(sourcePath)}: not a fake model");
        }

        DuringWrite?.Invoke(write);
        writer.WriteSection<byte>(DataSection, data, ModelImageSectionFlags.VerifyOnOpen);
        writer.WriteSection<long>("fake.length", [data.LongLength]);
    }

    /// <summary>The source bytes recorded in an image.</summary>
    public static string ReadText(string imagePath)
    {
        using ModelImage image = ModelImage.Open(imagePath);
        return Encoding.ASCII.GetString(image.GetSpan<byte>(image.GetSection<byte>(DataSection)))[4..];
    }
}
