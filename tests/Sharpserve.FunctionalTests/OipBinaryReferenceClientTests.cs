using System.Diagnostics;
using System.Text.Json;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// A second client of the binary tensor data extension, independent of <see cref="BinaryTensorBody"/>: numpy under
/// <c>/usr/bin/python3</c> builds the request as tritonclient.http does (<c>ndarray.tobytes()</c> in little-endian
/// dtypes, BYTES as <c>struct.pack("&lt;I", len)</c> then the bytes, no 'outputs' so
/// <c>binary_data_output: true</c>, the JSON's length in Inference-Header-Content-Length), posts it with urllib and
/// reads the answer back with <c>numpy.frombuffer</c>. Its elements must be the JSON answer's.
/// </summary>
public sealed class OipBinaryReferenceClientTests
{
    private const string Script = """
        import json, struct, sys, urllib.request
        try:
            import numpy as np
        except ImportError as error:
            sys.stderr.write(f"cannot import numpy ({error}): install Debian's python3-numpy\n")
            sys.exit(3)

        DTYPES = {"BOOL": "?", "UINT8": "<u1", "UINT16": "<u2", "UINT32": "<u4", "UINT64": "<u8", "INT8": "<i1",
                  "INT16": "<i2", "INT32": "<i4", "INT64": "<i8", "FP16": "<f2", "FP32": "<f4", "FP64": "<f8"}

        def serialize(datatype, data):
            if datatype == "BYTES":
                return b"".join(struct.pack("<I", len(s.encode())) + s.encode() for s in data)
            return np.array(data, dtype=DTYPES[datatype]).tobytes()

        def deserialize(datatype, blob):
            if datatype == "BYTES":
                values, offset = [], 0
                while offset < len(blob):
                    (length,) = struct.unpack_from("<I", blob, offset)
                    values.append(blob[offset + 4:offset + 4 + length].decode())
                    offset += 4 + length
                return values
            return [v.item() for v in np.frombuffer(blob, dtype=DTYPES[datatype])]

        url, expected_path = sys.argv[1], sys.argv[2]
        with open(expected_path, encoding="utf-8") as f:
            expected = json.load(f)
        inputs, blobs = [], []
        for tensor in expected["inputs"]:
            blob = serialize(tensor["datatype"], tensor["data"])
            blobs.append(blob)
            inputs.append({"name": tensor["name"], "shape": tensor["shape"], "datatype": tensor["datatype"],
                           "parameters": {"binary_data_size": len(blob)}})
        header = json.dumps({"inputs": inputs, "parameters": {"binary_data_output": True}}).encode()
        request = urllib.request.Request(url, data=header + b"".join(blobs), method="POST",
                                         headers={"Inference-Header-Content-Length": str(len(header))})
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
            json_length = int(response.headers["Inference-Header-Content-Length"])
            content_type = response.headers["Content-Type"]
        answer = json.loads(body[:json_length])
        offset, outputs = json_length, []
        for output in answer["outputs"]:
            size = output["parameters"]["binary_data_size"]
            outputs.append({"name": output["name"], "datatype": output["datatype"], "shape": output["shape"],
                            "data": deserialize(output["datatype"], body[offset:offset + size])})
            offset += size
        if offset != len(body):
            sys.exit(f"the binary data sizes add up to {offset - json_length}, the body has {len(body) - json_length}")
        json.dump({"content_type": content_type, "outputs": outputs}, sys.stdout, allow_nan=True)
        """;

    [Theory]
    [InlineData("identity_types")]
    [InlineData("multi_io")]
    [InlineData("int64_embedding")]
    public async Task NumpyClient_GetsTheJsonAnswersElements(string model)
    {
        await using TestServer server = await TestServer.StartAsync(new OnnxBackend().Open(TestServer.DataPath("onnx", model + ".onnx"), model));
        string expectedPath = TestServer.DataPath("onnx", model + ".expected.json");
        using JsonDocument expected = OipBinaryTests.Expected(model);
        string body = $$"""{"inputs": {{expected.RootElement.GetProperty("inputs").GetRawText()}}}""";
        using JsonDocument jsonAnswer = await HttpAssert.JsonAsync(await server.Client.PostAsync(
            new Uri($"/v2/models/{model}/infer", UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json")));

        using JsonDocument numpy = JsonDocument.Parse(await RunAsync(new Uri(server.Client.BaseAddress!, $"/v2/models/{model}/infer").ToString(), expectedPath));

        Assert.StartsWith("application/octet-stream", numpy.RootElement.GetProperty("content_type").GetString(), StringComparison.Ordinal);
        JsonElement[] want = [.. jsonAnswer.RootElement.GetProperty("outputs").EnumerateArray()];
        JsonElement[] got = [.. numpy.RootElement.GetProperty("outputs").EnumerateArray()];
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++)
        {
            string name = want[i].GetProperty("name").GetString()!;
            string datatype = want[i].GetProperty("datatype").GetString()!;
            Assert.Equal(name, got[i].GetProperty("name").GetString());
            Assert.Equal(datatype, got[i].GetProperty("datatype").GetString());
            Assert.Equal(JsonSerializer.Serialize(want[i].GetProperty("shape")), JsonSerializer.Serialize(got[i].GetProperty("shape")));
            JsonElement[] w = [.. want[i].GetProperty("data").EnumerateArray()];
            JsonElement[] g = [.. got[i].GetProperty("data").EnumerateArray()];
            Assert.Equal(w.Length, g.Length);
            for (int j = 0; j < w.Length; j++)
            {
                string where = $"{name}[{j}]";
                switch (datatype)
                {
                    case "FP16":
                    case "FP32":
                        Assert.True(w[j].GetSingle() == (float)g[j].GetDouble(), $"{where}: {w[j]} vs {g[j]}");
                        break;
                    case "FP64":
                        Assert.True(w[j].GetDouble() == g[j].GetDouble(), $"{where}: {w[j]} vs {g[j]}");
                        break;
                    case "BOOL":
                        Assert.True(w[j].GetBoolean() == g[j].GetBoolean(), $"{where}: {w[j]} vs {g[j]}");
                        break;
                    case "BYTES":
                        Assert.True(w[j].GetString() == g[j].GetString(), $"{where}: {w[j]} vs {g[j]}");
                        break;
                    default:
                        Assert.True(w[j].GetDecimal() == g[j].GetDecimal(), $"{where}: {w[j]} vs {g[j]}");
                        break;
                }
            }
        }
    }

    private static async Task<string> RunAsync(string url, string expectedPath)
    {
        var info = new ProcessStartInfo(PrometheusReferenceParser.Python)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        info.ArgumentList.Add(url);
        info.ArgumentList.Add(expectedPath);
        using Process process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail("the numpy client did not finish within 60 s");
        }

        Assert.True(process.ExitCode == 0, $"the numpy client exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
