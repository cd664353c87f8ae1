using System.Text.Json;
using System.Text.Json.Nodes;
using Sharpserve.Http;
using Sharpserve.Http.Status;

namespace Sharpserve.FunctionalTests.Http;

/// <summary>
/// GET /status is a <see cref="StatusDocument"/> serialized through <see cref="StatusJsonContext"/>: what the real
/// server writes reads back into the records and writes again unchanged (no field the records lose), and it keeps
/// every name of the document as it was before the records (append-only; clients and scripts read them).
/// </summary>
public sealed class StatusDocumentTests
{
    /// <summary>The names the hand-written endpoint wrote before the records; a rename would break readers.</summary>
    private static readonly string[] s_rootNames = ["ready", "front", "models"];
    private static readonly string[] s_frontNames = ["pid", "anonymous_bytes", "mapped_model_bytes", "pss_bytes"];
    private static readonly string[] s_modelNames = ["name", "version", "ready", "queued", "pending", "completed", "model_file_bytes", "mode"];
    private static readonly string[] s_processModelNames = ["target_workers", "restarts", "image", "workers"];
    private static readonly string[] s_workerNames =
        ["id", "pid", "state", "generation", "requests", "in_flight", "anonymous_bytes", "mapped_model_bytes", "pss_bytes"];

    [Fact]
    public async Task ThreadMode_StatusRoundTripsThroughTheRecords_WithTodaysNames()
    {
        await using TestServer server = await TestServer.StartDemoAsync();

        string body = await server.Client.GetStringAsync(new Uri("/status", UriKind.Relative));

        StatusDocument status = AssertRoundTrips(body);
        ModelStatus model = Assert.Single(status.Models);
        Assert.Equal(("langid", "1", "thread", 2), (model.Name, model.Version, model.Mode, model.Threads));
        Assert.Null(model.Workers);
        Assert.Equal(Environment.ProcessId, status.Front.Pid);
        JsonObject json = JsonNode.Parse(body)!.AsObject();
        AssertHasNames(json, s_rootNames);
        AssertHasNames(json["front"]!.AsObject(), [.. s_frontNames, "private_dirty_bytes"]);
        JsonObject modelJson = json["models"]![0]!.AsObject();
        AssertHasNames(modelJson, [.. s_modelNames, "threads"]);
        Assert.False(modelJson.ContainsKey("workers"), "a thread-mode model has no workers field");
    }

    [Fact]
    public async Task ProcessMode_StatusRoundTripsThroughTheRecords_WithTodaysNamesAndPlausibleMemory()
    {
        await using ProcessModeServer server = await ProcessModeServer.StartAsync();
        using (HttpResponseMessage answer = await server.ClassifyAsync(ProcessModeServer.Texts[0].Text))
        {
            answer.EnsureSuccessStatusCode();
        }

        string body = await server.Client.GetStringAsync(new Uri("/status", UriKind.Relative));

        StatusDocument status = AssertRoundTrips(body);
        ModelStatus model = Assert.Single(status.Models);
        Assert.Equal(("process", 2, 0), (model.Mode, model.TargetWorkers, model.Restarts));
        Assert.Equal(((Sharpserve.Core.Execution.IReloadable)server.Pool).ModelPath, model.Image);
        Assert.Equal(server.Pool.GetStatus().Select(w => w.Pid).Order(), model.Workers!.Select(w => w.Pid).Order());
        foreach (WorkerProcessStatus worker in model.Workers!)
        {
            Assert.Equal("ready", worker.State);
            AssertPlausibleMemory(worker.AnonymousBytes, worker.PrivateDirtyBytes, worker.PssBytes, worker.ToString());
            // Growth is Private_Dirty now minus Private_Dirty at Ready, both non-negative.
            Assert.InRange(worker.PrivateDirtyGrowthBytes!.Value, 0, worker.PrivateDirtyBytes!.Value);
            Assert.True(worker.MappedModelBytes > 0, worker.ToString());
        }

        AssertPlausibleMemory(status.Front.AnonymousBytes, status.Front.PrivateDirtyBytes, status.Front.PssBytes, status.Front.ToString());
        JsonObject json = JsonNode.Parse(body)!.AsObject();
        AssertHasNames(json, s_rootNames);
        AssertHasNames(json["front"]!.AsObject(), [.. s_frontNames, "private_dirty_bytes"]);
        JsonObject modelJson = json["models"]![0]!.AsObject();
        AssertHasNames(modelJson, [.. s_modelNames, .. s_processModelNames]);
        foreach (JsonNode? worker in modelJson["workers"]!.AsArray())
        {
            AssertHasNames(worker!.AsObject(), [.. s_workerNames, "private_dirty_bytes", "private_dirty_growth_bytes"]);
        }
    }

    /// <summary>
    /// Values of one smaps_rollup read: every private page counts wholly in PSS, so Private_Dirty ≤ PSS. Private_Dirty
    /// exceeds Anonymous by the process's private file-backed and shared-memory pages it wrote: for .NET mostly the
    /// JIT's code, which the runtime keeps in a memfd it maps twice (W^X), a few MiB; 64 MiB bounds that.
    /// </summary>
    private static void AssertPlausibleMemory(long anonymous, long? privateDirty, long pss, string what)
    {
        Assert.True(anonymous > 0, what);
        Assert.NotNull(privateDirty);
        Assert.InRange(privateDirty.Value, 1, pss);
        Assert.True(privateDirty.Value <= anonymous + (64L << 20), what);
    }

    /// <summary>Reads <paramref name="body"/> into the records, writes them as the endpoint does, and compares the JSON.</summary>
    private static StatusDocument AssertRoundTrips(string body)
    {
        StatusDocument? status = JsonSerializer.Deserialize(body, StatusJsonContext.Default.StatusDocument);
        Assert.NotNull(status);
        var again = new MemoryStream();
        using (var writer = new Utf8JsonWriter(again, JsonWriting.Options))
        {
            JsonSerializer.Serialize(writer, status, StatusJsonContext.Default.StatusDocument);
        }

        string written = System.Text.Encoding.UTF8.GetString(again.ToArray());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), JsonNode.Parse(written)), $"GET /status:\n{body}\nthrough the records:\n{written}");
        return status;
    }

    private static void AssertHasNames(JsonObject json, string[] names)
    {
        foreach (string name in names)
        {
            Assert.True(json.ContainsKey(name), $"no \"{name}\" in {json.ToJsonString()}");
        }
    }
}
