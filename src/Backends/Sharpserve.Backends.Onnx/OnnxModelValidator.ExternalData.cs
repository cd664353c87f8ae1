using System.Runtime.InteropServices;
using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// The checks of a tensor whose data is in an external file: where the location may point, and whether the
/// declared offset, length and prepacked blobs fit that file and the tensor's shape.
/// </summary>
internal static partial class OnnxModelValidator
{
    // TensorProto.DataType → bytes per element; 0 where the size is not a whole number of bytes or varies.
    private static readonly int[] s_onnxElementSizes = [0, 4, 1, 1, 2, 2, 4, 8, 0, 1, 2, 8, 4, 8, 8, 16, 2, 1, 1, 1, 1, 0, 0, 0];

    private static void CheckExternalData(string tensorName, long dataType, List<long> dims, List<(string Key, string Value)> entries, State state)
    {
        string? location = null;
        long offset = 0;
        long? declaredLength = null;
        var prepacked = new List<(long Offset, long Length)>();
        foreach ((string key, string value) in entries)
        {
            if (key.StartsWith("prepacked_", StringComparison.Ordinal))
            {
                prepacked.Add(ParsePrepacked(value, tensorName, state));
                continue;
            }

            switch (key)
            {
                case "location":
                    location = value;
                    break;
                case "offset":
                    offset = ParseNonNegative(value, "offset", tensorName, state);
                    break;
                case "length":
                    declaredLength = ParseNonNegative(value, "length", tensorName, state);
                    break;
                case "checksum":
                    break;
                default:
                    throw state.Refuse($"tensor '{tensorName}' has an unknown external_data key '{key}'");
            }
        }

        if (string.IsNullOrEmpty(location))
        {
            throw state.Refuse($"tensor '{tensorName}' is EXTERNAL but names no location");
        }

        string target = ResolveLocation(location, tensorName, state);
        long fileLength = state.FileLength(target);

        long elementSize = dataType is > 0 and < 24 ? s_onnxElementSizes[dataType] : 0;
        long? expected = null;
        if (elementSize > 0)
        {
            if (!TensorDataTypes.TryGetElementCount(CollectionsMarshal.AsSpan(dims), long.MaxValue / elementSize, out long elements))
            {
                throw state.Refuse($"tensor '{tensorName}' has a shape whose size overflows");
            }

            expected = elements * elementSize;
        }

        if (declaredLength is { } declared && expected is { } size && declared != size)
        {
            throw state.Refuse($"tensor '{tensorName}' declares {declared} bytes of external data; its shape needs {size}");
        }

        long length = declaredLength ?? expected ?? (fileLength - offset);
        if (offset > fileLength || length > fileLength - offset)
        {
            throw state.Refuse(
                $"tensor '{tensorName}' reads bytes {offset}..{offset + length} of '{location}', which has only {fileLength}");
        }

        foreach ((long packedOffset, long packedLength) in prepacked)
        {
            if (packedOffset > fileLength || packedLength > fileLength - packedOffset)
            {
                throw state.Refuse(
                    $"tensor '{tensorName}' has prepacked data at bytes {packedOffset}..{packedOffset + packedLength} of '{location}', which has only {fileLength}");
            }
        }

        state.ExternalTensors++;
        state.PrepackedBlobs += prepacked.Count;
    }

    // ONNX Runtime writes prepacked weights (session.save_external_prepacked_constant_initializers) as
    // external_data entries "prepacked_N" = "KERNEL-KEY|OFFSET;LENGTH;ALIGNMENT" into the tensor's own file.
    private static (long Offset, long Length) ParsePrepacked(string value, string tensorName, State state)
    {
        int bar = value.LastIndexOf('|');
        string[] parts = bar < 0 ? [] : value[(bar + 1)..].Split(';');
        if (parts.Length < 2 ||
            !long.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long offset) ||
            !long.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long length))
        {
            throw state.Refuse($"tensor '{tensorName}' has a malformed prepacked entry '{Printable(value)}'");
        }

        return (offset, length);
    }

    private static string ResolveLocation(string location, string tensorName, State state)
    {
        if (location.Contains('\0', StringComparison.Ordinal) || location.StartsWith("*/", StringComparison.Ordinal) ||
            location.Contains("_ORT_", StringComparison.Ordinal))
        {
            throw state.Refuse($"tensor '{tensorName}': external data location '{Printable(location)}' is a special marker, not a file");
        }

        if (System.IO.Path.IsPathRooted(location) || location.StartsWith('~') || location.Contains('\\', StringComparison.Ordinal) ||
            location.Contains(':', StringComparison.Ordinal))
        {
            throw state.Refuse($"tensor '{tensorName}': external data location '{Printable(location)}' must be a relative path inside the model's folder");
        }

        if (location.Contains("..", StringComparison.Ordinal))
        {
            throw state.Refuse($"tensor '{tensorName}': external data location '{Printable(location)}' contains '..'");
        }

        string joined = System.IO.Path.Combine(state.ModelDirectory, location);
        string? resolved = RealPath(joined);
        if (resolved is null)
        {
            throw state.Refuse($"tensor '{tensorName}': external data file '{Printable(location)}' does not exist");
        }

        if (!resolved.StartsWith(state.ModelDirectory + "/", StringComparison.Ordinal))
        {
            throw state.Refuse($"tensor '{tensorName}': external data file '{Printable(location)}' resolves outside the model's folder");
        }

        // FIFOs, sockets and device nodes report size 0 (and a FIFO would block ONNX Runtime's read): only
        // non-empty files that are not directories or devices are data files.
        var info = new FileInfo(resolved);
        if (!info.Exists || (info.Attributes & (FileAttributes.Directory | FileAttributes.Device)) != 0 || info.Length == 0)
        {
            throw state.Refuse($"tensor '{tensorName}': external data '{Printable(location)}' is not a non-empty regular file");
        }

        return resolved;
    }

    private static long ParseNonNegative(string value, string key, string tensorName, State state) =>
        long.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long parsed)
            ? parsed
            : throw state.Refuse($"tensor '{tensorName}': external_data '{key}' must be a non-negative integer, got '{Printable(value)}'");

    private static string Printable(string text)
    {
        var builder = new StringBuilder(Math.Min(text.Length, 200));
        foreach (char c in text)
        {
            if (builder.Length == 200)
            {
                builder.Append('…');
                break;
            }

            builder.Append(char.IsControl(c) ? '?' : c);
        }

        return builder.ToString();
    }
}
