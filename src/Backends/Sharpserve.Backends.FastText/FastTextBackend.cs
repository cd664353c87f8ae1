using System.Buffers.Binary;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Supervised fastText 0.9.2 <c>.bin</c> classifiers. Served from a model image: <see cref="WriteImage"/> parses
/// the <c>.bin</c> once at prepare time, <see cref="OpenImage"/> reads the image in place.
/// </summary>
public sealed class FastTextBackend : IModelImageBackend
{
    internal const string BackendName = "fasttext";

    public string Name => BackendName;

    public int ImageFormatVersion => FastTextImageLayout.FormatVersion;

    /// <summary>True when the file starts with fastText's magic bytes BA 16 4F 2F.</summary>
    public bool CanLoad(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> magic = stackalloc byte[4];
            return stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4
                && BinaryPrimitives.ReadInt32LittleEndian(magic) == FastTextModel.Magic;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Reads the <c>.bin</c> into an in-memory image (see <see cref="FastTextModel.Open"/>).</summary>
    public IModel Load(string path, string modelName) => FastTextModel.Open(path, modelName);

    public void WriteImage(string sourcePath, ModelImageWriter writer)
    {
        ArgumentNullException.ThrowIfNull(sourcePath);
        ArgumentNullException.ThrowIfNull(writer);
        using FastTextSourceFile source = FastTextSourceFile.Open(sourcePath);
        FastTextImageWriter.Write(source, writer);
    }

    public IModel OpenImage(ModelImage image, string modelName) => FastTextModel.OpenImage(image, modelName);
}
