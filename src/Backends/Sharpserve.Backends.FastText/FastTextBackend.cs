using System.Buffers.Binary;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText;

/// <summary>Loads supervised fastText 0.9.2 <c>.bin</c> classifiers.</summary>
public sealed class FastTextBackend : IModelBackend
{
    public string Name => "fasttext";

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

    public IModel Load(string path, string modelName) => FastTextModel.Open(path, modelName);
}
