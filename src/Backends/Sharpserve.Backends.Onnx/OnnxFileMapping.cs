using System.IO.MemoryMappedFiles;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Maps a whole .onnx file read-only for one parse (the validator, the graph signature): the protobuf is read in
/// place, never copied onto the heap. Refuses empty files and files over protobuf's 2 GiB limit.
/// </summary>
internal static class OnnxFileMapping
{
    public delegate T Parser<T>(ReadOnlySpan<byte> model);

    /// <exception cref="ModelLoadException">The file cannot be read, is empty or is over 2 GiB; or the parser's own.</exception>
    public static unsafe T Parse<T>(string fullPath, Parser<T> parse)
    {
        string name = Path.GetFileName(fullPath);
        try
        {
            long length = new FileInfo(fullPath).Length;
            if (length == 0)
            {
                throw new ModelLoadException($"{name}: the file is empty, not an ONNX model");
            }

            if (length > int.MaxValue)
            {
                throw new ModelLoadException($"{name}: {length} bytes is over the 2 GiB protobuf limit; keep the weights in external data");
            }

            using var file = MemoryMappedFile.CreateFromFile(fullPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
            using MemoryMappedViewAccessor view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            try
            {
                return parse(new ReadOnlySpan<byte>(pointer + view.PointerOffset, (int)length));
            }
            finally
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{name}: cannot read the model: {e.Message}", e);
        }
    }
}
