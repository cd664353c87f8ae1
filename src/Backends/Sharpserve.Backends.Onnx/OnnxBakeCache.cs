using System.Globalization;
using System.IO.Hashing;
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
        key = OnnxBakeKey.Compute(source, cacheDirectory, progress);
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
}
