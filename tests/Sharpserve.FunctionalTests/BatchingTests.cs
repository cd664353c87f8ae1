using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Sharpserve.Abstractions;
using Sharpserve.Backends.Onnx;
using Sharpserve.Core.Batching;
using Sharpserve.Hosting;
using Sharpserve.Testing;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Dynamic batching through the real server in thread mode: concurrent clients each get their own rows' answers
/// (ONNX, against the model run on each row alone), a poisoned input fails its own request only, and /status and
/// /metrics (read by the reference parser) show the batches. Whether requests batch together is made certain by a
/// model call held on a gate while the others queue, never by timing.
/// </summary>
public sealed class BatchingTests
{
    private static readonly TimeSpan s_cap = TimeSpan.FromSeconds(30);

    private static ServerOptions Batching(int maxBatchSize, TimeSpan delay, int threads = 2) =>
        TestServer.Options(threads) with { Batching = new BatchingOptions { MaxBatchSize = maxBatchSize, MaxQueueDelay = delay } };

    [Fact]
    public async Task QueuedRequests_RunAsOneBatch_AndStatusAndMetricsShowIt()
    {
        var model = new BatchRecordingModel("batched");
        await using TestServer server = await TestServer.StartAsync(model, Batching(8, TimeSpan.FromMilliseconds(1), threads: 1));
        using var gate = new ManualResetEventSlim(false);
        model.CallGate = gate;
        while (model.CallStarted.CurrentCount > 0)
        {
            await model.CallStarted.WaitAsync(s_cap); // the warm-up's calls
        }

        // The server's own warm-up went through the batching executor too: what follows is counted from here.
        IReadOnlyList<ParsedFamily> before = await PrometheusReferenceParser.ParseAsync(await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative)));
        long batchesBefore = await BatchesAsync(server.Client);

        // The first request holds the one executor thread at the gate; eight more queue behind it.
        Task<JsonDocument> first = InferAsync(server.Client, "batched", 1);
        Assert.True(await model.CallStarted.WaitAsync(s_cap));
        Task<JsonDocument>[] queued = [.. Enumerable.Range(2, 8).Select(v => InferAsync(server.Client, "batched", v))];
        await WaitForQueuedAsync(server.Client, 8);
        gate.Set();

        JsonDocument[] answers = [await first.WaitAsync(s_cap), .. await Task.WhenAll(queued).WaitAsync(s_cap)];
        for (int i = 0; i < answers.Length; i++)
        {
            JsonElement y = answers[i].RootElement.GetProperty("outputs")[0];
            Assert.Equal(2.0 * (i + 1), y.GetProperty("data")[0].GetDouble());
            answers[i].Dispose();
        }

        Assert.Equal([2f, 3f, 4f, 5f, 6f, 7f, 8f, 9f], model.Calls.Last().Order());
        using (JsonDocument status = JsonDocument.Parse(await server.Client.GetStringAsync(new Uri("/status", UriKind.Relative))))
        {
            JsonElement batching = status.RootElement.GetProperty("models")[0].GetProperty("batching");
            Assert.Equal(8, batching.GetProperty("max_batch_size").GetInt32());
            Assert.Equal(0.001, batching.GetProperty("max_queue_delay_seconds").GetDouble());
            Assert.Equal(batchesBefore + 2, batching.GetProperty("batches").GetInt64());
            Assert.True(batching.GetProperty("mean_batch_size").GetDouble() > 1);
        }

        string text = await server.Client.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        IReadOnlyList<ParsedFamily> families = await PrometheusReferenceParser.ParseAsync(text);
        Assert.Equal(
            strict(text).SelectMany(f => f.Samples).Select(s => s.Key).Order(StringComparer.Ordinal),
            families.SelectMany(f => f.Samples).Select(s => s.Key).Order(StringComparer.Ordinal));
        ParsedFamily sizes = Assert.Single(families, f => f.Name == "sharpserve_batch_size");
        ParsedFamily sizesBefore = Assert.Single(before, f => f.Name == "sharpserve_batch_size");
        Assert.Equal("histogram", sizes.Type);
        Assert.Equal(1, Delta(sizesBefore, sizes, "sharpserve_batch_size_bucket", ("le", "1"))); // the first request, alone
        Assert.Equal(1, Delta(sizesBefore, sizes, "sharpserve_batch_size_bucket", ("le", "+Inf")) - Delta(sizesBefore, sizes, "sharpserve_batch_size_bucket", ("le", "4")));
        Assert.Equal(2, Delta(sizesBefore, sizes, "sharpserve_batch_size_bucket", ("le", "8")));
        Assert.Equal(2, Delta(sizesBefore, sizes, "sharpserve_batch_size_count"));
        Assert.Equal(9, Delta(sizesBefore, sizes, "sharpserve_batch_size_sum"));
        ParsedFamily waits = Assert.Single(families, f => f.Name == "sharpserve_queue_time_seconds");
        Assert.Equal(9, Delta(Assert.Single(before, f => f.Name == "sharpserve_queue_time_seconds"), waits, "sharpserve_queue_time_seconds_count"));
        Assert.All(sizes.Samples, s => Assert.Equal("batched", s.Labels["model"]));

        static IReadOnlyList<ParsedFamily> strict(string text) => StrictExpositionReader.Read(text);
    }

    [Fact]
    public async Task Onnx_ManyConcurrentClients_EachGetsItsOwnRowsAnswer()
    {
        string path = TestServer.DataPath("onnx", "mlp_classifier.onnx");
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(TestServer.DataPath("onnx", "mlp_classifier.expected.json")));
        float[] numpyRows = [.. expected.RootElement.GetProperty("inputs")[0].GetProperty("data").EnumerateArray().Select(e => e.GetSingle())];
        var random = new Random(15);
        float[][] rows = [.. Enumerable.Range(0, 48).Select(i => i < 3 ? numpyRows[(i * 8)..((i + 1) * 8)] : RandomRow(random))];

        await using TestServer server = await TestServer.StartAsync(new OnnxBackend().Open(path, "mlp"), Batching(16, TimeSpan.FromMilliseconds(5)));
        JsonDocument[] answers = await Task.WhenAll(rows.Select(row => InferAsync(server.Client, "mlp", Json(row))));

        // The reference: the same model answering each row alone, unbatched; for three rows also numpy's answers.
        using IModel reference = new OnnxBackend().Open(path, "reference");
        using IModelSession alone = reference.CreateSession();
        for (int i = 0; i < rows.Length; i++)
        {
            InferResult single = alone.Infer(new InferenceRequest([Tensor.FromFp32("input", [1, 8], rows[i])], InferenceParameters.Default));
            JsonElement outputs = answers[i].RootElement.GetProperty("outputs");
            Assert.Equal(single.Response!.Outputs.Count, outputs.GetArrayLength());
            for (int o = 0; o < outputs.GetArrayLength(); o++)
            {
                Tensor want = single.Response.Outputs[o];
                double[] got = [.. outputs[o].GetProperty("data").EnumerateArray().Select(e => e.GetDouble())];
                double[] wanted = want.DataType == TensorDataType.Int64 ? [.. want.GetData<long>().ToArray().Select(v => (double)v)] : [.. want.Fp32Data!.Select(v => (double)v)];
                Assert.Equal(want.Name, outputs[o].GetProperty("name").GetString());
                Assert.Equal(wanted.Length, got.Length);
                for (int j = 0; j < got.Length; j++)
                {
                    Assert.True(Math.Abs(wanted[j] - got[j]) <= 1e-4 * Math.Max(1, Math.Abs(wanted[j])), $"row {i}, {want.Name}[{j}]: {wanted[j]} alone, {got[j]} batched");
                }
            }

            if (i < 3)
            {
                JsonElement numpyLabel = expected.RootElement.GetProperty("outputs")[2].GetProperty("data")[i];
                Assert.Equal(numpyLabel.GetInt64(), outputs[2].GetProperty("data")[0].GetInt64());
            }

            answers[i].Dispose();
        }
    }

    [Fact]
    public async Task Onnx_PoisonedInputAmongConcurrentClients_FailsOnlyItsOwnRequest()
    {
        // Id 99 is past int64_embedding's table: ONNX Runtime refuses any run holding it.
        string path = TestServer.DataPath("onnx", "int64_embedding.onnx");
        await using TestServer server = await TestServer.StartAsync(new OnnxBackend().Open(path, "embedding"), Batching(8, TimeSpan.FromMilliseconds(5), threads: 1));
        long[][] ids = [.. Enumerable.Range(0, 12).Select(i => i == 5 ? new long[] { 0, 1, 2, 3, 99 } : [i % 10, (i + 1) % 10, 2, 3, 4])];

        HttpResponseMessage[] responses = await Task.WhenAll(ids.Select(row => server.Client.PostAsync(
            new Uri("/v2/models/embedding/infer", UriKind.Relative),
            new StringContent($$"""{"inputs":[{"name":"ids","datatype":"INT64","shape":[1,5],"data":[{{string.Join(",", row)}}]}]}""", Encoding.UTF8, "application/json"))));

        for (int i = 0; i < responses.Length; i++)
        {
            using HttpResponseMessage response = responses[i];
            if (i == 5)
            {
                await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "refused the input");
                continue;
            }

            using JsonDocument answer = await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
            JsonElement plusOne = answer.RootElement.GetProperty("outputs")[1];
            Assert.Equal(ids[i].Select(v => v + 1), plusOne.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));
        }
    }

    [Fact]
    public async Task FastText_ConcurrentClientsWithTheirOwnK_EachGetTheFastTextCliAnswer()
    {
        // Requests of k=3 and k=1 share batches: the session answers each with its own parameters.
        ServerOptions options = Batching(16, TimeSpan.FromMilliseconds(5), threads: 1);
        await using TestServer server = await TestServer.StartAsync(Sharpserve.Backends.FastText.FastTextModel.Open(TestServer.DemoModelPath, "langid"), options);
        string[] sentences = FastTextGolden.Sentences();
        string[] top3 = FastTextGolden.Lines("langid", "k3");
        string[] top1 = FastTextGolden.Lines("langid", "k1");
        int[] lines = [.. Enumerable.Range(0, sentences.Length).Where(i => sentences[i].Length > 0)];

        string[] answers = await Task.WhenAll(lines.Select(async i =>
        {
            bool three = i % 2 == 0;
            using HttpResponseMessage response = await server.Client.PostAsync(
                new Uri(three ? "/labelservice/?k=3" : "/labelservice/", UriKind.Relative), new StringContent(sentences[i]));
            if (!three)
            {
                return await response.Content.ReadAsStringAsync();
            }

            using JsonDocument json = await HttpAssert.JsonAsync(response);
            return FastTextGolden.AsCliLine(json.RootElement);
        }));

        for (int n = 0; n < lines.Length; n++)
        {
            int i = lines[n];
            Assert.Equal(i % 2 == 0 ? top3[i] : top1[i].Split(' ')[0], answers[n]);
        }

        Assert.True(lines.Length > 10);
    }

    private static float[] RandomRow(Random random) => [.. Enumerable.Range(0, 8).Select(_ => (float)((random.NextDouble() * 4) - 2))];

    private static string Json(float[] row) =>
        $$"""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,8],"data":[{{string.Join(",", row.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";

    private static Task<JsonDocument> InferAsync(HttpClient client, string model, float value) =>
        InferAsync(client, model, $$"""{"inputs":[{"name":"x","datatype":"FP32","shape":[1,1],"data":[{{value.ToString("R", CultureInfo.InvariantCulture)}}]}]}""");

    private static async Task<JsonDocument> InferAsync(HttpClient client, string model, string body)
    {
        using HttpResponseMessage response = await client.PostAsync(
            new Uri($"/v2/models/{model}/infer", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        return await HttpAssert.JsonAsync(response, HttpStatusCode.OK);
    }

    /// <summary>Polls /status until the model's queue holds <paramref name="count"/> requests; fails after 30 s.</summary>
    private static async Task WaitForQueuedAsync(HttpClient client, int count)
    {
        using var cap = new CancellationTokenSource(s_cap);
        while (true)
        {
            using JsonDocument status = JsonDocument.Parse(await client.GetStringAsync(new Uri("/status", UriKind.Relative), cap.Token));
            if (status.RootElement.GetProperty("models")[0].GetProperty("queued").GetInt32() >= count)
            {
                return;
            }

            await Task.Yield();
        }
    }

    private static async Task<long> BatchesAsync(HttpClient client)
    {
        using JsonDocument status = JsonDocument.Parse(await client.GetStringAsync(new Uri("/status", UriKind.Relative)));
        return status.RootElement.GetProperty("models")[0].GetProperty("batching").GetProperty("batches").GetInt64();
    }

    private static double Delta(ParsedFamily before, ParsedFamily after, string name, params (string Name, string Value)[] labels) =>
        Value(after, name, labels) - Value(before, name, labels);

    private static double Value(ParsedFamily family, string name, params (string Name, string Value)[] labels) =>
        family.Samples.Single(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).Value;
}
