using System.Buffers.Binary;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Supervised fastText 0.9.2 <c>.bin</c> classifiers. Served from a model image: <see cref="Prepare"/> has the image
/// cache build it (<see cref="WriteImage"/> parses the <c>.bin</c> once), <see cref="Open"/> maps it and reads it in
/// place.
/// </summary>
public sealed class FastTextBackend : IModelImageBackend
{
    internal const string BackendName = "fasttext";

    /// <summary>Also the backend name recorded in the images it writes.</summary>
    public string Name => BackendName;

    public string DisplayName => "fastText";

    public string FormatName => "fastText supervised .bin";

    public string DefaultFileName => "model.bin";

    public int ImageFormatVersion => FastTextImageLayout.FormatVersion;

    /// <summary>True when the file starts with fastText's magic bytes BA 16 4F 2F, or is a model image this backend wrote.</summary>
    public bool CanLoad(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> magic = stackalloc byte[4];
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4
                && BinaryPrimitives.ReadInt32LittleEndian(magic) == FastTextModel.Magic)
            {
                return true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }

        return ModelImage.TryReadBackendName(path, out string? writer) && writer == BackendName;
    }

    /// <summary>Reads and checks the <c>.bin</c> as writing its image does (or opens the image, for one), writing nothing.</summary>
    public void Validate(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (ModelImage.HasImageMagic(path))
        {
            FastTextModel.OpenImage(ModelImage.Open(path), "model").Dispose();
            return;
        }

        using FastTextSourceFile source = FastTextSourceFile.Open(path);
    }

    /// <summary>The image in the image cache (or at <see cref="ModelPreparationContext.OutputPath"/>), built when missing or stale.</summary>
    public ModelPreparation Prepare(string sourcePath, ModelPreparationContext context)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(context);
        return context.OutputPath is { } outputPath
            ? context.Images.PrepareAt(sourcePath, outputPath, this, context.Progress)
            : context.Images.Prepare(sourcePath, this, context.Progress);
    }

    /// <summary>
    /// Opens the model and keeps its description: mapping an image and checking its index sections is what opening
    /// costs (milliseconds, kilobytes), and the labels and warm-up texts come from the dictionary it holds.
    /// </summary>
    public ModelDescription Describe(string preparedPath, string modelName)
    {
        using IModel model = Open(preparedPath, modelName);
        return model.Description;
    }

    /// <summary>Maps an image this backend wrote; a <c>.bin</c> is read into an image built in memory (see <see cref="FastTextModel.Open"/>).</summary>
    public IModel Open(string path, string modelName)
    {
        ArgumentNullException.ThrowIfNull(path);
        return ModelImage.HasImageMagic(path) ? FastTextModel.OpenImage(ModelImage.Open(path), modelName) : FastTextModel.Open(path, modelName);
    }

    /// <summary>The image alone: everything the model reads is in it.</summary>
    public IReadOnlyList<string> MappedFiles(string preparedPath)
    {
        ArgumentNullException.ThrowIfNull(preparedPath);
        return [Path.GetFullPath(preparedPath)];
    }

    public void WriteImage(string sourcePath, ModelImageWriter writer)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(writer);
        using FastTextSourceFile source = FastTextSourceFile.Open(sourcePath);
        FastTextImageWriter.Write(source, writer);
    }
}
