using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>mapped_model_bytes</c> in /status is the resident part of the model image's own mapping, not every
/// file-backed page of the process (the runtime's and the native libraries' code is tens of MiB).
/// </summary>
public sealed class MappedModelMemoryTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _cacheDir = Directory.CreateTempSubdirectory("sharpserve-mapped-").FullName;

    public void Dispose() => Directory.Delete(_cacheDir, recursive: true);

    [Fact]
    public async Task ProcessMode_MappedModelBytes_IsTheImageMapping_NotAllFileBackedMemory()
    {
        using SharpserveProcess process = SharpserveProcess.Start("serve --port 0 --workers 2", _cacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        JsonElement model = default;
        using JsonDocument status = await ReadStatusWithWorkersAsync(client, 2);
        model = status.RootElement.GetProperty("models")[0];

        // The expectation comes from the file on disk: its size rounded up to whole pages bounds what can be
        // resident of it. Warm-up reads most of the small demo image; the rest depends on which rows were read.
        long imageBytes = new FileInfo(model.GetProperty("image").GetString()!).Length;
        long page = Environment.SystemPageSize;
        long imagePages = (imageBytes + page - 1) / page * page;
        foreach (JsonElement worker in model.GetProperty("workers").EnumerateArray())
        {
            long mapped = worker.GetProperty("mapped_model_bytes").GetInt64();
            long fileBacked = FileBackedBytes(worker.GetProperty("pid").GetInt32());
            Assert.InRange(mapped, imageBytes / 2, imagePages);
            Assert.True(mapped * 3 < fileBacked, $"mapped {mapped} should be far below all file-backed memory {fileBacked}");
        }

        long front = status.RootElement.GetProperty("front").GetProperty("mapped_model_bytes").GetInt64();
        Assert.InRange(front, 0, imagePages);
        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    private static async Task<JsonDocument> ReadStatusWithWorkersAsync(HttpClient client, int workers)
    {
        for (int i = 0; i < 600; i++)
        {
            JsonDocument status = JsonDocument.Parse(await client.GetStringAsync(new Uri("/status", UriKind.Relative)));
            int ready = status.RootElement.GetProperty("models")[0].GetProperty("workers").EnumerateArray()
                .Count(w => w.GetProperty("state").GetString() == "ready");
            if (ready == workers)
            {
                return status;
            }

            status.Dispose();
            await Task.Delay(50);
        }

        Assert.Fail($"{workers} workers were not ready within 30 s");
        return null!;
    }

    /// <summary>Rss − Anonymous from smaps_rollup: every resident file-backed page of the process.</summary>
    private static long FileBackedBytes(int pid)
    {
        long rss = 0, anonymous = 0;
        foreach (string line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
        {
            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts[0] == "Rss:")
            {
                rss = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
            else if (parts[0] == "Anonymous:")
            {
                anonymous = long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return rss - anonymous;
    }
}
