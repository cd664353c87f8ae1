using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// The binary tensor data extension from the client's side, written from docs/binary-tensor-extension.md alone (as
/// tritonclient.http builds it): JSON, then each binary input's bytes; and the answer split back into its JSON and
/// the binary outputs' bytes.
/// </summary>
internal static class BinaryTensorBody
{
    public const string HeaderName = "Inference-Header-Content-Length";

    /// <summary>A body: <paramref name="json"/> then <paramref name="binary"/>, with the header saying the JSON's length.</summary>
    public static ByteArrayContent Content(string json, params byte[][] binary)
    {
        byte[] header = Encoding.UTF8.GetBytes(json);
        byte[] body = [.. header, .. binary.SelectMany(b => b)];
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add(HeaderName, header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>
    /// An all-binary request for the inputs of an expected-outputs file (JSON 'data' encoded as the extension says),
    /// every output asked for as binary data.
    /// </summary>
    public static ByteArrayContent AllBinary(JsonElement inputs, Func<int, bool>? binaryInput = null, string? parameters = """{"binary_data_output": true}""")
    {
        var tensors = new JsonArray();
        var blobs = new List<byte[]>();
        int index = 0;
        foreach (JsonElement input in inputs.EnumerateArray())
        {
            var tensor = new JsonObject
            {
                ["name"] = input.GetProperty("name").GetString(),
                ["datatype"] = input.GetProperty("datatype").GetString(),
                ["shape"] = JsonNode.Parse(input.GetProperty("shape").GetRawText()),
            };
            if (binaryInput is null || binaryInput(index))
            {
                byte[] blob = Encode(input.GetProperty("datatype").GetString()!, input.GetProperty("data"));
                tensor["parameters"] = new JsonObject { ["binary_data_size"] = blob.Length };
                blobs.Add(blob);
            }
            else
            {
                tensor["data"] = JsonNode.Parse(input.GetProperty("data").GetRawText());
            }

            tensors.Add(tensor);
            index++;
        }

        var request = new JsonObject { ["inputs"] = tensors };
        if (parameters is not null)
        {
            request["parameters"] = JsonNode.Parse(parameters);
        }

        return Content(request.ToJsonString(), [.. blobs]);
    }

    /// <summary>Flat JSON 'data' of a datatype as binary tensor data: little-endian, BOOL one byte, BYTES length-prefixed.</summary>
    public static byte[] Encode(string datatype, JsonElement data)
    {
        var bytes = new List<byte>();
        Span<byte> b = stackalloc byte[8];
        foreach (JsonElement value in data.EnumerateArray())
        {
            switch (datatype)
            {
                case "BOOL": bytes.Add(value.GetBoolean() ? (byte)1 : (byte)0); break;
                case "UINT8": bytes.Add(value.GetByte()); break;
                case "INT8": bytes.Add((byte)value.GetSByte()); break;
                case "UINT16": BinaryPrimitives.WriteUInt16LittleEndian(b, value.GetUInt16()); bytes.AddRange(b[..2]); break;
                case "INT16": BinaryPrimitives.WriteInt16LittleEndian(b, value.GetInt16()); bytes.AddRange(b[..2]); break;
                case "UINT32": BinaryPrimitives.WriteUInt32LittleEndian(b, value.GetUInt32()); bytes.AddRange(b[..4]); break;
                case "INT32": BinaryPrimitives.WriteInt32LittleEndian(b, value.GetInt32()); bytes.AddRange(b[..4]); break;
                case "UINT64": BinaryPrimitives.WriteUInt64LittleEndian(b, value.GetUInt64()); bytes.AddRange(b[..8]); break;
                case "INT64": BinaryPrimitives.WriteInt64LittleEndian(b, value.GetInt64()); bytes.AddRange(b[..8]); break;
                case "FP16": BinaryPrimitives.WriteHalfLittleEndian(b, (Half)value.GetDouble()); bytes.AddRange(b[..2]); break;
                case "FP32": BinaryPrimitives.WriteSingleLittleEndian(b, value.GetSingle()); bytes.AddRange(b[..4]); break;
                case "FP64": BinaryPrimitives.WriteDoubleLittleEndian(b, value.GetDouble()); bytes.AddRange(b[..8]); break;
                case "BYTES":
                    byte[] text = Encoding.UTF8.GetBytes(value.GetString()!);
                    BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)text.Length);
                    bytes.AddRange(b[..4]);
                    bytes.AddRange(text);
                    break;
                default: throw new ArgumentException($"no datatype {datatype}", nameof(datatype));
            }
        }

        return [.. bytes];
    }

    /// <summary>An answer split at its Inference-Header-Content-Length: the JSON and, per output, its binary data (null for JSON outputs).</summary>
    public static async Task<(JsonDocument Json, Dictionary<string, byte[]> Binary)> ReadAsync(HttpResponseMessage response)
    {
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        int jsonLength = body.Length;
        if (response.Headers.TryGetValues(HeaderName, out IEnumerable<string>? values))
        {
            jsonLength = int.Parse(values.Single(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        }
        else
        {
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }

        JsonDocument json = JsonDocument.Parse(body.AsMemory(0, jsonLength));
        var binary = new Dictionary<string, byte[]>();
        int offset = jsonLength;
        foreach (JsonElement output in json.RootElement.GetProperty("outputs").EnumerateArray())
        {
            if (output.TryGetProperty("parameters", out JsonElement parameters) && parameters.TryGetProperty("binary_data_size", out JsonElement size))
            {
                Assert.False(output.TryGetProperty("data", out _), "a binary output has no 'data'");
                binary[output.GetProperty("name").GetString()!] = body[offset..(offset + size.GetInt32())];
                offset += size.GetInt32();
            }
        }

        Assert.Equal(body.Length, offset); // the sizes claim the binary data exactly
        return (json, binary);
    }

    /// <summary>
    /// Asserts a binary output holds what the JSON answer for the same request holds: each element read from the
    /// bytes as the extension says and compared exactly (floats at their own precision; JSON's null is NaN).
    /// </summary>
    public static void AssertSameElements(JsonElement jsonOutput, byte[] blob)
    {
        string datatype = jsonOutput.GetProperty("datatype").GetString()!;
        string name = jsonOutput.GetProperty("name").GetString()!;
        JsonElement[] expected = [.. jsonOutput.GetProperty("data").EnumerateArray()];
        int offset = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            JsonElement want = expected[i];
            ReadOnlySpan<byte> b = blob.AsSpan(offset);
            string where = $"{name}[{i}]";
            switch (datatype)
            {
                case "BOOL": Assert.True(b[0] == (want.GetBoolean() ? 1 : 0), where); offset += 1; break;
                case "UINT8": Assert.True(b[0] == want.GetByte(), where); offset += 1; break;
                case "INT8": Assert.True((sbyte)b[0] == want.GetSByte(), where); offset += 1; break;
                case "UINT16": Assert.True(BinaryPrimitives.ReadUInt16LittleEndian(b) == want.GetUInt16(), where); offset += 2; break;
                case "INT16": Assert.True(BinaryPrimitives.ReadInt16LittleEndian(b) == want.GetInt16(), where); offset += 2; break;
                case "UINT32": Assert.True(BinaryPrimitives.ReadUInt32LittleEndian(b) == want.GetUInt32(), where); offset += 4; break;
                case "INT32": Assert.True(BinaryPrimitives.ReadInt32LittleEndian(b) == want.GetInt32(), where); offset += 4; break;
                case "UINT64": Assert.True(BinaryPrimitives.ReadUInt64LittleEndian(b) == want.GetUInt64(), where); offset += 8; break;
                case "INT64": Assert.True(BinaryPrimitives.ReadInt64LittleEndian(b) == want.GetInt64(), where); offset += 8; break;
                case "FP16": Assert.Equal(Float(want), (float)BinaryPrimitives.ReadHalfLittleEndian(b)); offset += 2; break;
                case "FP32": Assert.Equal(Float(want), BinaryPrimitives.ReadSingleLittleEndian(b)); offset += 4; break;
                case "FP64":
                    Assert.Equal(want.ValueKind == JsonValueKind.Null ? double.NaN : want.GetDouble(), BinaryPrimitives.ReadDoubleLittleEndian(b));
                    offset += 8;
                    break;
                case "BYTES":
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(b);
                    Assert.Equal(want.GetString(), Encoding.UTF8.GetString(b.Slice(4, length)));
                    offset += 4 + length;
                    break;
                default: throw new ArgumentException($"no datatype {datatype}", nameof(jsonOutput));
            }
        }

        Assert.Equal(blob.Length, offset);
    }

    private static float Float(JsonElement value) => value.ValueKind == JsonValueKind.Null ? float.NaN : value.GetSingle();
}
