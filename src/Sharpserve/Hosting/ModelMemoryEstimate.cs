namespace Sharpserve.Hosting;

/// <summary>
/// What a model version is counted as against <c>--max-model-memory</c>, known before anything is prepared or mapped:
/// the size of every file in its version folder (the model file and, for ONNX, its external data). A fastText
/// image is about its .bin's size and an ONNX model's baked form about its weights', so the folder size stands for
/// what a process maps; a Python model counts its code's size only (what load() allocates is not known beforehand).
/// </summary>
internal static class ModelMemoryEstimate
{
    /// <summary>The estimate of one repository entry.</summary>
    public static long Of(ModelRepository.Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        string folder = Directory.Exists(entry.ModelPath) ? entry.ModelPath : Path.GetDirectoryName(entry.ModelPath)!;
        long total = 0;
        try
        {
            foreach (FileInfo file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                total += file.Length;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable parts are the loader's to report; the estimate counts what it can see.
        }

        return total;
    }

    /// <summary>The estimate of several entries (the versions of one model).</summary>
    public static long Of(IReadOnlyList<ModelRepository.Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        long total = 0;
        foreach (ModelRepository.Entry entry in entries)
        {
            total += Of(entry);
        }

        return total;
    }
}
