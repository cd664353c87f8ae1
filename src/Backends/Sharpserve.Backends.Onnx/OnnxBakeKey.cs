using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// The key a baked model is kept under (<see cref="OnnxBakeCache"/>): what the packed layout depends on, the
/// model's content, the ONNX Runtime build and the CPU, plus the bake format. The content hash is memoized per
/// source, so a start does not read the whole model again while its files are unchanged.
/// </summary>
internal static class OnnxBakeKey
{
    /// <summary>(content hash of the model and its external files, ORT version, CPU features, bake format) as one string.</summary>
    public static string Compute(OnnxModelFile source, string cacheDirectory, IProgress<ProgressReport>? progress)
    {
        UInt128 content = ContentHash(source, cacheDirectory, progress);
        return string.Create(CultureInfo.InvariantCulture,
            $"v{OnnxBakeCache.BakeFormatVersion};content={content:x32};ort={OrtEnv.Instance().GetVersionString()};cpu={CpuFeatures()}");
    }

    /// <summary>
    /// A file modified this close to the moment its hash is memoized may change again within the same
    /// file-system clock tick without its fingerprint changing; such sources are hashed every time.
    /// </summary>
    internal static readonly TimeSpan RacyWindow = TimeSpan.FromSeconds(2);

    // Hashing the source costs ~0.25 s per 768 MiB (page cache hot) at every start and in every preparer; the hash
    // is memoized under CACHE/onnx/sources/ keyed by the model's path and trusted while every file's path, size
    // and modification time are unchanged (the model-image cache's rule, without ctime and inode, which .NET
    // does not expose).
    private static UInt128 ContentHash(OnnxModelFile source, string cacheDirectory, IProgress<ProgressReport>? progress)
    {
        string memoPath = Path.Combine(Path.GetFullPath(cacheDirectory), "onnx", "sources",
            $"{XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(source.Path)):x16}.json");
        string fingerprint = Fingerprint(source, out DateTime newest);
        if (TryReadMemo(memoPath, fingerprint, out UInt128 memoized))
        {
            return memoized;
        }

        var hash = new XxHash128();
        long total = 0;
        foreach (string path in source.ExternalFiles.Prepend(source.Path))
        {
            total += new FileInfo(path).Length;
        }

        long done = 0;
        HashFile(hash, source.Path, progress, ref done, total);
        foreach (string external in source.ExternalFiles.Order(StringComparer.Ordinal))
        {
            hash.Append(Encoding.UTF8.GetBytes(Path.GetRelativePath(Path.GetDirectoryName(source.Path)!, external)));
            HashFile(hash, external, progress, ref done, total);
        }

        UInt128 content = hash.GetCurrentHashAsUInt128();
        if (DateTime.UtcNow - newest > RacyWindow && Fingerprint(source, out _) == fingerprint)
        {
            WriteMemo(memoPath, fingerprint, content);
        }

        return content;
    }

    private static string Fingerprint(OnnxModelFile source, out DateTime newest)
    {
        var text = new StringBuilder();
        newest = DateTime.MinValue;
        foreach (string path in source.ExternalFiles.Order(StringComparer.Ordinal).Prepend(source.Path))
        {
            var info = new FileInfo(path);
            DateTime modified = info.LastWriteTimeUtc;
            newest = modified > newest ? modified : newest;
            text.Append(CultureInfo.InvariantCulture, $"{path}|{info.Length}|{modified.Ticks};");
        }

        return text.ToString();
    }

    private static bool TryReadMemo(string memoPath, string fingerprint, out UInt128 content)
    {
        content = default;
        try
        {
            using JsonDocument memo = JsonDocument.Parse(File.ReadAllBytes(memoPath));
            return memo.RootElement.GetProperty("fingerprint").GetString() == fingerprint
                && UInt128.TryParse(memo.RootElement.GetProperty("content").GetString(), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out content);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void WriteMemo(string memoPath, string fingerprint, UInt128 content)
    {
        string temp = $"{memoPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(memoPath)!);
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            using (var writer = new Utf8JsonWriter(stream))
            {
                writer.WriteStartObject();
                writer.WriteString("fingerprint", fingerprint);
                writer.WriteString("content", content.ToString("x32", CultureInfo.InvariantCulture));
                writer.WriteEndObject();
            }

            File.Move(temp, memoPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A memo is an optimisation: without it the source is hashed next time.
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing was written.
            }
        }
    }

    // Hashes one file, adding its bytes to done (of total, all files) as they are read.
    private static void HashFile(XxHash128 hash, string path, IProgress<ProgressReport>? progress, ref long done, long total)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        if (progress is null)
        {
            hash.Append(stream);
            done += stream.Length;
            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            int read;
            while ((read = stream.Read(buffer)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                done += read;
                progress.Report(new ProgressReport(OnnxBakeCache.HashingStep, done, total));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The architecture and the kernel's CPU feature flags (x86 "flags", Arm "Features"), hashed.</summary>
    internal static string CpuFeatures()
    {
        string flags = "";
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("Features", StringComparison.Ordinal))
                {
                    flags = line;
                    break;
                }
            }
        }
        catch (IOException)
        {
            // No /proc (not Linux): the architecture alone keys the bake.
        }

        ulong flagsHash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(flags));
        return string.Create(CultureInfo.InvariantCulture, $"{RuntimeInformation.ProcessArchitecture}-{flagsHash:x16}");
    }
}
