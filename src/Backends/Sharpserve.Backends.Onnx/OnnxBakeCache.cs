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
/// Bakes an ONNX model into the form every process can share: ONNX Runtime optimizes it once and saves the
/// optimized graph with all initializers and its prepacked weights in one external file
/// (<c>session.save_external_prepacked_constant_initializers</c>). Loading that by path maps the file, so the
/// prepacked pages are in the page cache once, however many sessions and processes load it. The packed layout
/// depends on the ORT build and the CPU, so a baked model is keyed by (source content hash, ORT version, CPU
/// features) and lives in <c>CACHE/onnx/NAME-KEY/</c>: <c>model.onnx</c>, <c>model.data</c> and
/// <c>bake.json</c>, written into a temp folder and renamed into place atomically. A baked folder that is
/// incomplete, inconsistent or refused by <see cref="OnnxModelValidator"/> is stale and baked again.
/// </summary>
internal static class OnnxBakeCache
{
    /// <summary>Bump when the baked layout or the session options used to bake change.</summary>
    public const int BakeFormatVersion = 1;

    public const string ModelFileName = "model.onnx";
    public const string DataFileName = "model.data";
    public const string ManifestFileName = "bake.json";

    /// <summary>The steps a bake reports: ONNX Runtime says nothing while it works, so what is observable is reported.</summary>
    internal const string HashingStep = "hashing the source";
    internal const string OptimizingStep = "optimizing in ONNX Runtime";
    internal const string WritingStep = "writing the baked model";
    internal const string CheckingStep = "checking the baked model";

    // How often the files ONNX Runtime writes are measured while it bakes.
    private static readonly TimeSpan s_writePollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>What <see cref="Prepare"/> did: the baked model to load, whether it was built, and why.</summary>
    public sealed record Result(OnnxModelFile Baked, bool Built, string Reason);

    public static string FolderFor(OnnxModelFile source, string cacheDirectory, out string key, IProgress<ProgressReport>? progress = null)
    {
        key = ComputeKey(source, cacheDirectory, progress);
        var name = new StringBuilder();
        foreach (char c in Path.GetFileNameWithoutExtension(source.Path))
        {
            if (name.Length == 48)
            {
                break;
            }

            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        }

        ulong keyHash = XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(key));
        return Path.Combine(Path.GetFullPath(cacheDirectory), "onnx", $"{name}-{keyHash:x16}");
    }

    /// <summary>Returns the baked form of <paramref name="source"/>, baking it when missing or stale.</summary>
    /// <param name="source">The validated model.</param>
    /// <param name="cacheDirectory">Where baked models are kept.</param>
    /// <param name="progress">Told what is observable of the bake (hashing, optimizing, bytes written so far); null for nothing.</param>
    /// <exception cref="ModelLoadException">Baking failed; the message says why.</exception>
    public static Result Prepare(OnnxModelFile source, string cacheDirectory, IProgress<ProgressReport>? progress = null)
    {
        string folder = FolderFor(source, cacheDirectory, out string key, progress);
        string? problem = CheckBaked(folder, key, out OnnxModelFile? baked);
        if (problem is null)
        {
            return new Result(baked!, Built: false, "");
        }

        try
        {
            Bake(source, folder, key, progress);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{Path.GetFileName(source.Path)}: cannot write the baked model under {cacheDirectory}: {e.Message}", e);
        }

        progress?.Report(new ProgressReport(CheckingStep));
        string? after = CheckBaked(folder, key, out baked);
        return after is null
            ? new Result(baked!, Built: true, problem)
            : throw new ModelLoadException($"{Path.GetFileName(source.Path)}: the baked model is unusable right after baking: {after}");
    }

    /// <summary>True when <paramref name="path"/> is the model of a complete, consistent baked folder (any key).</summary>
    public static bool IsBaked(string path, out OnnxModelFile? baked)
    {
        baked = null;
        string fullPath = Path.GetFullPath(path);
        return Path.GetFileName(fullPath) == ModelFileName
            && File.Exists(Path.Combine(Path.GetDirectoryName(fullPath)!, ManifestFileName))
            && CheckBaked(Path.GetDirectoryName(fullPath)!, key: null, out baked) is null;
    }

    /// <summary>
    /// Null when <paramref name="folder"/> holds a complete, consistent baked model for <paramref name="key"/>
    /// (any key when null); else the reason.
    /// </summary>
    public static string? CheckBaked(string folder, string? key, out OnnxModelFile? baked)
    {
        baked = null;
        string manifestPath = Path.Combine(folder, ManifestFileName);
        if (!File.Exists(manifestPath))
        {
            return Directory.Exists(folder) ? "the baked folder has no manifest" : "not baked yet";
        }

        try
        {
            using JsonDocument manifest = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
            JsonElement root = manifest.RootElement;
            if (root.GetProperty("bake_format_version").GetInt32() != BakeFormatVersion)
            {
                return "the bake format version differs";
            }

            if (key is not null && root.GetProperty("key").GetString() != key)
            {
                return "the manifest's key differs";
            }

            long dataBytes = root.GetProperty("data_bytes").GetInt64();
            string dataPath = Path.Combine(folder, DataFileName);
            long actual = File.Exists(dataPath) ? new FileInfo(dataPath).Length : -1;
            if (actual != dataBytes)
            {
                return $"{DataFileName} has {actual} bytes, the manifest says {dataBytes}";
            }

            baked = OnnxModelValidator.Validate(Path.Combine(folder, ModelFileName));
            return null;
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException or
                                       UnauthorizedAccessException or ModelLoadException)
        {
            return $"the baked model is corrupt ({e.Message})";
        }
    }

    private static void Bake(OnnxModelFile source, string folder, string key, IProgress<ProgressReport>? progress)
    {
        string parent = Path.GetDirectoryName(folder)!;
        Directory.CreateDirectory(parent);
        string temp = $"{folder}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        Directory.CreateDirectory(temp);
        try
        {
            using (SessionOptions options = OnnxModel.CreateSessionOptions(new OnnxBackendOptions()))
            {
                options.OptimizedModelFilePath = Path.Combine(temp, ModelFileName);
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_file_name", DataFileName);
                // Below 1 KiB stay inline: shape inference must read small constants (axes, shapes) from the graph,
                // and they are not worth sharing.
                options.AddSessionConfigEntry("session.optimized_model_external_initializers_min_size_in_bytes", "1024");
                options.AddSessionConfigEntry("session.save_external_prepacked_constant_initializers", "1");
                Timer? poll = progress is null ? null : PollWrittenBytes(temp, progress);
                try
                {
                    using var session = new InferenceSession(source.Path, options);
                }
                catch (OnnxRuntimeException e)
                {
                    throw new ModelLoadException($"{Path.GetFileName(source.Path)}: ONNX Runtime could not bake the model: {e.Message}", e);
                }
                finally
                {
                    StopPolling(poll);

                    // The session held a private prepacked copy of every weight; the process that baked (the front,
                    // in process mode) keeps serving, so give it back rather than carry it as anonymous memory.
                    NativeHeap.Trim();
                }
            }

            string dataPath = Path.Combine(temp, DataFileName);
            if (!File.Exists(dataPath))
            {
                // A model without initializers has nothing to share; an empty data file keeps the layout uniform.
                File.WriteAllBytes(dataPath, []);
            }

            long dataBytes = new FileInfo(dataPath).Length;
            WriteManifest(Path.Combine(temp, ManifestFileName), source, key, dataBytes);
            foreach (string file in Directory.GetFiles(temp))
            {
                if (OperatingSystem.IsWindows())
                {
                    break;
                }

                // Baked files are never written again: a process maps them, and an in-place write would change
                // what every process reads. Replacement is by a new folder.
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            Publish(temp, folder, key);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    // ONNX Runtime optimizes first and writes the files at the end of the session's creation; it reports neither,
    // so the bake shows as optimizing until a file appears, then as the bytes written so far (the final size is not
    // known in advance: prepacked weights take another layout than the source's).
    private static Timer PollWrittenBytes(string folder, IProgress<ProgressReport> progress)
    {
        progress.Report(new ProgressReport(OptimizingStep));
        return new Timer(
            _ =>
            {
                long written = 0;
                try
                {
                    foreach (FileInfo file in new DirectoryInfo(folder).EnumerateFiles())
                    {
                        written += file.Length;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return; // the folder is being published or removed: nothing more to show
                }

                progress.Report(written > 0 ? new ProgressReport(WritingStep, written) : new ProgressReport(OptimizingStep));
            },
            null,
            s_writePollInterval,
            s_writePollInterval);
    }

    // Returns once no poll runs any more, so no report of the bake's files can follow the next step's.
    private static void StopPolling(Timer? poll)
    {
        if (poll is null)
        {
            return;
        }

        using var stopped = new ManualResetEvent(false);
        if (poll.Dispose(stopped))
        {
            stopped.WaitOne();
        }
    }

    /// <summary>Moves a baked folder aside and deletes it, so the next <see cref="Prepare"/> bakes again.</summary>
    public static void Invalidate(string folder)
    {
        string aside = $"{folder}.stale-{Guid.NewGuid():N}";
        try
        {
            Directory.Move(folder, aside);
            Directory.Delete(aside, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Already gone or replaced by another process.
        }
    }

    // Renames the finished temp folder into place. A stale folder is moved aside first (processes that mapped its
    // files keep them; unlinked files live until unmapped). If another preparer published first, its result wins.
    private static void Publish(string temp, string folder, string key)
    {
        if (Directory.Exists(folder) && CheckBaked(folder, key, out _) is null)
        {
            // Another preparer published a good bake of the same key while this one baked: keep theirs, which
            // processes may already be loading.
            return;
        }

        if (Directory.Exists(folder))
        {
            string aside = $"{folder}.stale-{Guid.NewGuid():N}";
            try
            {
                Directory.Move(folder, aside);
                Directory.Delete(aside, recursive: true);
            }
            catch (IOException)
            {
                // Someone else moved or replaced it meanwhile; the rename below decides.
            }
        }

        try
        {
            Directory.Move(temp, folder);
        }
        catch (IOException) when (Directory.Exists(folder))
        {
            // Another process baked the same key concurrently; keep theirs.
        }
    }

    private static void WriteManifest(string path, OnnxModelFile source, string key, long dataBytes)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("bake_format_version", BakeFormatVersion);
            writer.WriteString("key", key);
            writer.WriteString("source", source.Path);
            writer.WriteString("ort_version", OrtEnv.Instance().GetVersionString());
            writer.WriteString("created_utc", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            writer.WriteNumber("data_bytes", dataBytes);
            writer.WriteEndObject();
        }

        stream.Flush(flushToDisk: true);
    }

    /// <summary>(content hash of the model and its external files, ORT version, CPU features, bake format) as one string.</summary>
    private static string ComputeKey(OnnxModelFile source, string cacheDirectory, IProgress<ProgressReport>? progress)
    {
        UInt128 content = ContentHash(source, cacheDirectory, progress);
        return string.Create(CultureInfo.InvariantCulture,
            $"v{BakeFormatVersion};content={content:x32};ort={OrtEnv.Instance().GetVersionString()};cpu={CpuFeatures()}");
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
                progress.Report(new ProgressReport(HashingStep, done, total));
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
