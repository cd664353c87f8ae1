using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Sharpserve.Abstractions.Images;

public sealed unsafe partial class ModelImage
{
    /// <summary>
    /// Maps an image read-only and checks it: magic, format version, header and table checksums, the recorded
    /// length against the file's, every section's alignment and bounds, and the checksums of the sections marked
    /// <see cref="ModelImageSectionFlags.VerifyOnOpen"/>. Costs a mapping and a read of the small sections, not a
    /// parse: the big sections are neither read nor copied.
    /// </summary>
    /// <exception cref="ModelLoadException">The file is missing, foreign, of another version, truncated or corrupt; the message names it.</exception>
    public static ModelImage Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string name = System.IO.Path.GetFileName(path);
        if (!BitConverter.IsLittleEndian)
        {
            throw new ModelLoadException($"{name}: model images are little-endian; this platform is big-endian");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, bufferSize: 0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ModelLoadException($"{name}: cannot open the image: {e.Message}", e);
        }

        MemoryMappedFile? file = null;
        MemoryMappedViewAccessor? view = null;
        byte* pointer = null;
        try
        {
            long length = stream.Length;
            Span<byte> headerBytes = stackalloc byte[ModelImageFormat.HeaderSize];
            int read = stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
            ModelImageHeader header = ModelImageHeader.Parse(headerBytes[..read], length, name);

            file = MemoryMappedFile.CreateFromFile(stream, mapName: null, capacity: 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return Create(name, System.IO.Path.GetFullPath(path), file, view, pointer, length, header);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Release(stream, file, view, pointer);
            throw new ModelLoadException($"{name}: cannot map the image: {e.Message}", e);
        }
        catch
        {
            Release(stream, file, view, pointer);
            throw;
        }
    }

    /// <summary>
    /// Copies an image held in memory into a 64-byte-aligned native buffer and checks it as <see cref="Open"/>
    /// does. For small models and tests: this memory is private to the process, unlike a mapping.
    /// </summary>
    /// <param name="bytes">The image.</param>
    /// <param name="name">Used in messages, e.g. the source file name.</param>
    public static ModelImage Load(ReadOnlySpan<byte> bytes, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        ModelImageHeader header = ModelImageHeader.Parse(bytes[..Math.Min(bytes.Length, ModelImageFormat.HeaderSize)], bytes.Length, name);
        byte* pointer = (byte*)NativeMemory.AlignedAlloc((nuint)bytes.Length, ModelImageFormat.Alignment);
        try
        {
            bytes.CopyTo(new Span<byte>(pointer, bytes.Length));
            return Create(name, null, null, null, pointer, bytes.Length, header);
        }
        catch
        {
            NativeMemory.AlignedFree(pointer);
            throw;
        }
    }

    /// <summary>True when the file starts with the image magic bytes (a cheap check; <see cref="Open"/> checks the rest).</summary>
    public static bool HasImageMagic(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            Span<byte> magic = stackalloc byte[sizeof(ulong)];
            return stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length
                && BinaryPrimitives.ReadUInt64LittleEndian(magic) == ModelImageFormat.Magic;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>
    /// The name of the backend that wrote the image at <paramref name="path"/>, read from its header alone (magic,
    /// version, checksum and layout checked; the sections are not): how a backend recognises its images cheaply.
    /// False when the file is not an image with a valid header; <see cref="Open"/> then says why.
    /// </summary>
    public static bool TryReadBackendName(string path, [NotNullWhen(true)] out string? backendName)
    {
        ArgumentNullException.ThrowIfNull(path);
        backendName = null;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            Span<byte> header = stackalloc byte[ModelImageFormat.HeaderSize];
            int read = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
            if (read < sizeof(ulong) || BinaryPrimitives.ReadUInt64LittleEndian(header) != ModelImageFormat.Magic)
            {
                return false; // not an image at all: the common case, answered without an exception
            }

            backendName = ModelImageHeader.Parse(header[..read], stream.Length, System.IO.Path.GetFileName(path)).BackendName;
            return true;
        }
        catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    // Checks the table and the verified sections. On failure the caller releases the memory.
    private static ModelImage Create(
        string name, string? path, MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* pointer, long length, in ModelImageHeader header)
    {
        var table = new ReadOnlySpan<byte>(pointer + header.TableOffset, (int)(length - header.TableOffset));
        ModelImageSection[] sections = header.ParseTable(table, name);
        var image = new ModelImage(name, path, file, view, pointer, length, sections, header);
        foreach (ModelImageSection section in sections)
        {
            if ((section.Flags & ModelImageSectionFlags.VerifyOnOpen) != 0)
            {
                image.VerifyChecksum(section);
            }
        }

        return image;
    }

    private static void Release(FileStream stream, MemoryMappedFile? file, MemoryMappedViewAccessor? view, byte* pointer)
    {
        if (view is not null)
        {
            if (pointer != null)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
            }

            view.Dispose();
        }

        if (file is not null)
        {
            file.Dispose();
        }
        else
        {
            stream.Dispose();
        }
    }
}
