using System.Net;
using System.Text;
using System.Text.Json;

namespace Sharpserve.LoadClient;

/// <summary>
/// OIP over HTTP/1.1: <c>POST /v2/models/{model}/infer</c> with the texts as a JSON BYTES input, or as binary
/// tensor data (docs/binary-tensor-extension.md) with every output asked for in binary. Each answer is read whole
/// and parsed (its JSON part), as a client that uses the result does.
/// </summary>
internal static class HttpCases
{
    public static HttpClient CreateClient(int conns) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = conns,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
    })
    { Timeout = TimeSpan.FromSeconds(10) };

    public static ClosedLoop.Call Json(HttpClient client, string url, string[] texts)
    {
        byte[] body = JsonSerializer.SerializeToUtf8Bytes(new
        {
            inputs = new[] { new { name = "text", datatype = "BYTES", shape = new[] { texts.Length }, data = texts } },
        });
        return async (_, ct) =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PostAsync(url, content, ct).ConfigureAwait(false);
            byte[] answer = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            // Every text has its answer: the first output's first dimension is the request's text count.
            using var doc = JsonDocument.Parse(answer);
            var outputs = doc.RootElement.GetProperty("outputs");
            return outputs.GetArrayLength() > 0 && outputs[0].GetProperty("shape")[0].GetInt32() == texts.Length;
        };
    }

    /// <summary>The JSON part and the binary part of a binary tensor data request that asks for binary outputs.</summary>
    public static (byte[] Header, byte[] Data) BinaryBody(string[] texts)
    {
        byte[] data = Texts.BinaryBytes(texts);
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(new
        {
            inputs = new[]
            {
                new
                {
                    name = "text", datatype = "BYTES", shape = new[] { texts.Length },
                    parameters = new { binary_data_size = data.Length },
                },
            },
            parameters = new { binary_data_output = true },
        });
        return (header, data);
    }

    public static ClosedLoop.Call Binary(HttpClient client, string url, string[] texts)
    {
        (byte[] header, byte[] data) = BinaryBody(texts);
        byte[] body = [.. header, .. data];
        string headerLength = header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return async (_, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/octet-stream");
            request.Headers.Add("Inference-Header-Content-Length", headerLength);
            using var response = await client.SendAsync(request, ct).ConfigureAwait(false);
            byte[] answer = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK
                || !response.Headers.TryGetValues("Inference-Header-Content-Length", out var values)
                || !int.TryParse(values.First(), out int jsonLength) || jsonLength > answer.Length)
            {
                return false;
            }

            using var doc = JsonDocument.Parse(answer.AsMemory(0, jsonLength));
            long binary = 0;
            var outputs = doc.RootElement.GetProperty("outputs");
            if (outputs.GetArrayLength() == 0 || outputs[0].GetProperty("shape")[0].GetInt32() != texts.Length)
            {
                return false;
            }

            foreach (var output in outputs.EnumerateArray())
            {
                binary += output.GetProperty("parameters").GetProperty("binary_data_size").GetInt64();
            }

            return binary == answer.Length - jsonLength;
        };
    }
}
