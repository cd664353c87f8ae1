using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Sharpserve.Backends.Onnx;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Each way a binary tensor data request can be wrong (docs/binary-tensor-extension.md, "Errors"): a 400 naming the
/// problem, nothing allocated from a declared size first, and the server answering the next good request.
/// int_division takes two INT32 [N] inputs 'a' and 'b'; string_label_encoder one BYTES [N] input 'text'.
/// </summary>
public sealed class OipBinaryRequestErrorTests : IAsyncLifetime
{
    private const string Auto = "auto"; // the header says the JSON's exact length

    private TestServer _server = null!;

    public async Task InitializeAsync()
    {
        var backend = new OnnxBackend();
        _server = await TestServer.WrapAsync(await SharpserveServer.StartAsync(TestServer.Options(),
        [
            backend.Open(TestServer.DataPath("onnx", "int_division.onnx"), "int_division"),
            backend.Open(TestServer.DataPath("onnx", "string_label_encoder.onnx"), "string_label_encoder"),
            backend.Open(TestServer.DataPath("onnx", "multi_io.onnx"), "multi_io"),
        ]));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static ByteArrayContent Body(string? header, string json, string binaryHex)
    {
        byte[] jsonBytes = Encoding.UTF8.GetBytes(json);
        var content = new ByteArrayContent([.. jsonBytes, .. Convert.FromHexString(binaryHex)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (header is not null)
        {
            content.Headers.Add(BinaryTensorBody.HeaderName, header == Auto ? jsonBytes.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) : header);
        }

        return content;
    }

    private Task<HttpResponseMessage> PostAsync(string model, HttpContent content) =>
        _server.Client.PostAsync(new Uri($"/v2/models/{model}/infer", UriKind.Relative), content);

    /// <summary>A good binary request to each model: the server still serves after a bad one.</summary>
    private async Task AssertStillServingAsync()
    {
        using HttpResponseMessage division = await PostAsync("int_division", Body(Auto,
            """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT32","shape":[2],"data":[2,-3]}],"parameters":{"binary_data_output":true}}""",
            "0700000009000000"));
        (JsonDocument json, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(division);
        json.Dispose();
        Assert.Equal(Convert.FromHexString("03000000FDFFFFFF"), binary["q"]); // 7 / 2 = 3, 9 / -3 = -3

        using HttpResponseMessage strings = await PostAsync("string_label_encoder", Body(Auto,
            """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]}""", "03000000636174"));
        Assert.Equal(HttpStatusCode.OK, strings.StatusCode);
    }

    [Theory]
    // The Inference-Header-Content-Length header itself.
    [InlineData("int_division", "abc", "{}", "", "header must be a whole number of bytes")]
    [InlineData("int_division", "-3", "{}", "", "header must be a whole number of bytes (the length of the JSON that starts the body), got '-3'")]
    [InlineData("int_division", "1.5", "{}", "", "header must be a whole number of bytes")]
    [InlineData("int_division", "0", "{}", "", "must be from 1 to the body's length")]
    [InlineData("int_division", "99999999999", "{}", "", "says the JSON is 99999999999 bytes, but it must be from 1 to the body's length, 2 bytes")]
    [InlineData("int_division", "3", "{}", "", "must be from 1 to the body's length, 2 bytes")]
    // A header shorter than the JSON cuts it.
    [InlineData("int_division", "10", """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1]}]}""", "", "malformed JSON")]
    // binary_data_size itself.
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":-4}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "", "'binary_data_size' must be a whole number of bytes, 0 or more, got -4")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4.5}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "01000000", "got 4.5")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":"4"}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "01000000", "got the string \"4\"")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":[]},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "", "input 'a': 'parameters' must be a JSON object")]
    // More than what is left; the sizes overlap the next input's; bytes left over; no header at all.
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "010000", "input 'a' has 'binary_data_size' 8, but only 3 bytes of binary data are left after the JSON")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}""", "0100000002000000030000", "input 'b' has 'binary_data_size' 8, but only 3 bytes of binary data are left after the JSON and the inputs before it")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "0100000002", "the body has 5 bytes of binary data after the JSON, but the inputs' 'binary_data_size' add up to 4; 1 bytes belong to no input")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1]},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "00", "1 bytes belong to no input")]
    [InlineData("int_division", null, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "", "no Inference-Header-Content-Length header")]
    // A size that is not the shape's for a numeric type; 'data' as well as binary data.
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":6}},{"name":"b","datatype":"INT32","shape":[2],"data":[1,2]}]}""", "010000000200", "input 'a' has shape [2] of INT32, 8 bytes, but 'binary_data_size' is 6")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "01000000", "input 'a' has both 'data' and 'parameters.binary_data_size'")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1]},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "", "input 'a' needs 'datatype', 'shape' and 'data'")]
    // The element cap applies to binary inputs too, before their size is looked at.
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[4294967296],"parameters":{"binary_data_size":4}},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}]}""", "01000000", "more than 1048576 elements")]
    // BYTES: a length running past the blob, a prefix cut short, a count other than the shape's.
    [InlineData("string_label_encoder", Auto, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":7}}]}""", "05000000636174", "input 'text': BYTES element 0 says it is 5 bytes, but only 3 bytes of its binary data remain")]
    [InlineData("string_label_encoder", Auto, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":9}}]}""", "03000000636174FFFF", "BYTES element 1 starts at byte 7 of its 9-byte binary data, too close to the end for its 4-byte length")]
    [InlineData("string_label_encoder", Auto, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":7}}]}""", "03000000636174", "input 'text' has shape [2] (2 elements) but its binary data holds 1 BYTES elements")]
    [InlineData("string_label_encoder", Auto, """{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":14}}]}""", "0300000063617403000000646f67", "holds 2 BYTES elements")]
    // Output parameters.
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1]},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}],"outputs":[{"name":"q","parameters":{"binary_data":1}}]}""", "", "output 'q': parameter 'binary_data' must be true or false")]
    [InlineData("int_division", Auto, """{"inputs":[{"name":"a","datatype":"INT32","shape":[1],"data":[1]},{"name":"b","datatype":"INT32","shape":[1],"data":[1]}],"parameters":{"binary_data_output":"yes"}}""", "", "parameter 'binary_data_output' must be true or false")]
    public async Task BadBinaryRequest_Answers400NamingTheProblem_AndTheServerGoesOn(string model, string? header, string json, string binaryHex, string message)
    {
        using HttpResponseMessage response = await PostAsync(model, Body(header, json, binaryHex));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, message);
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task BinaryBool_OtherThanZeroOrOne_Answers400()
    {
        using JsonDocument expected = OipBinaryTests.Expected("multi_io");
        using HttpResponseMessage good = await PostAsync("multi_io", BinaryTensorBody.AllBinary(expected.RootElement.GetProperty("inputs")));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);

        // 'flag' is BOOL [1]; send it as the byte 2 and everything else as JSON.
        var inputs = System.Text.Json.Nodes.JsonNode.Parse(expected.RootElement.GetProperty("inputs").GetRawText())!.AsArray();
        System.Text.Json.Nodes.JsonObject flag = inputs.Single(i => (string?)i!["name"] == "flag")!.AsObject();
        flag.Remove("data");
        flag["parameters"] = new System.Text.Json.Nodes.JsonObject { ["binary_data_size"] = 1 };
        using HttpResponseMessage response = await PostAsync("multi_io", Body(Auto, $$"""{"inputs":{{inputs.ToJsonString()}}}""", "02"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "input 'flag': BOOL element 0 is the byte 2; binary BOOL elements are 0 (false) or 1 (true)");
        await AssertStillServingAsync();
    }

    [Theory]
    [InlineData(9223372036854775807L)]
    [InlineData(2147483648L)]
    [InlineData(16L)]
    public async Task HugeDeclaredSize_WithATinyBody_Answers400(long size)
    {
        // Nothing is sized from the declaration: it is compared with the 3 bytes that are there.
        using HttpResponseMessage response = await PostAsync("string_label_encoder", Body(Auto,
            $$$"""{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":{{{size}}}}}]}""", "000000"));

        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, $"'binary_data_size' {size}, but only 3 bytes of binary data are left");
        await AssertStillServingAsync();
    }

    [Fact]
    public async Task EmptyTensor_TakesZeroBytes()
    {
        using HttpResponseMessage response = await PostAsync("int_division", Body(Auto,
            """{"inputs":[{"name":"a","datatype":"INT32","shape":[0],"parameters":{"binary_data_size":0}},{"name":"b","datatype":"INT32","shape":[0],"parameters":{"binary_data_size":0}}],"parameters":{"binary_data_output":true}}""",
            ""));
        (JsonDocument json, Dictionary<string, byte[]> binary) = await BinaryTensorBody.ReadAsync(response);
        using (json)
        {
            Assert.Equal("[0]", json.RootElement.GetProperty("outputs")[0].GetProperty("shape").GetRawText());
            Assert.Empty(binary["q"]);
        }
    }

    [Fact]
    public async Task WorkedExample_OfTheSpecification_AnswersByteForByte()
    {
        // docs/binary-tensor-extension.md, "Request" and "Response".
        const string request = """{"inputs":[{"name":"a","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"b","datatype":"INT32","shape":[2],"data":[2,-3]}],"outputs":[{"name":"q","parameters":{"binary_data":true}}]}""";
        const string answer = """{"model_name":"int_division","model_version":"1","outputs":[{"name":"q","datatype":"INT32","shape":[2],"parameters":{"binary_data_size":8}}]}""";
        Assert.Equal(209, request.Length);

        using HttpResponseMessage response = await PostAsync("int_division", Body(Auto, request, "0700000009000000"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["141"], response.Headers.GetValues(BinaryTensorBody.HeaderName));
        Assert.Equal(149, response.Content.Headers.ContentLength);
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal([.. Encoding.UTF8.GetBytes(answer), .. Convert.FromHexString("03000000FDFFFFFF")], body);
    }
}
