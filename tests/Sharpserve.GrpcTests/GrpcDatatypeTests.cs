using System.Text.Json;
using Grpc.Core;
using Inference;
using Sharpserve.Backends.Onnx;

namespace Sharpserve.GrpcTests;

/// <summary>
/// Every datatype through ONNX models that echo or transform their inputs, against the committed expected outputs
/// (tests/data/onnx/*.expected.json, made by ONNX Runtime from the generating script under tools/): raw contents in
/// both directions, and typed contents for every model whose inputs have a typed field (FP16 has none).
/// </summary>
public sealed class GrpcDatatypeTests
{
    public static TheoryData<string, bool> Cases() => new()
    {
        { "identity_types", false }, // INT8, INT16, UINT16, UINT32, UINT64, FP16
        { "multi_io", false },       // FP64, INT32, BOOL, UINT8, FP16, BYTES in; FP32 out
        { "int64_embedding", false }, // INT64 in; FP32, INT64 out
        { "int64_embedding", true },
        { "int_division", true },     // INT32
        { "string_label_encoder", true }, // BYTES
        { "any_rank", true },         // FP32, a scalar
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ModelInfer_AnswersTheExpectedOutputs(string name, bool typed)
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(GrpcTestServer.DataPath("onnx", name + ".expected.json")));
        await using GrpcTestServer server = await GrpcTestServer.StartAsync(new OnnxBackend().Open(GrpcTestServer.DataPath("onnx", name + ".onnx"), name));
        var request = new ModelInferRequest { ModelName = name };
        foreach (JsonElement input in expected.RootElement.GetProperty("inputs").EnumerateArray())
        {
            request.Inputs.Add(GrpcTensors.Input(input, typed));
            if (!typed)
            {
                request.RawInputContents.Add(GrpcTensors.Raw(input.GetProperty("datatype").GetString()!, GrpcTensors.Flatten(input.GetProperty("data"))));
            }
        }

        ModelInferResponse response = await server.Client.ModelInferAsync(request);

        JsonElement[] outputs = expected.RootElement.GetProperty("outputs").EnumerateArray().ToArray();
        Assert.Equal(outputs.Length, response.Outputs.Count);
        for (int i = 0; i < outputs.Length; i++)
        {
            ModelInferResponse.Types.InferOutputTensor output = response.Outputs[i];
            string datatype = outputs[i].GetProperty("datatype").GetString()!;
            Assert.Equal(outputs[i].GetProperty("name").GetString(), output.Name);
            Assert.Equal(datatype, output.Datatype);
            Assert.Equal(outputs[i].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()), output.Shape);
            List<object> want = GrpcTensors.Flatten(outputs[i].GetProperty("data")).Select(v => GrpcTensors.Expected(datatype, v)).ToList();
            List<object> got = GrpcTensors.ReadRaw(datatype, response.RawOutputContents[i]);
            Assert.Equal(want.Count, got.Count);
            for (int j = 0; j < want.Count; j++)
            {
                if (want[j] is double w)
                {
                    Assert.Equal(w, (double)got[j], Math.Abs(w) * 1e-6);
                }
                else
                {
                    Assert.Equal(want[j], got[j]);
                }
            }
        }
    }

    [Fact]
    public async Task TypedContents_ForFp16_IsInvalidArgument()
    {
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(GrpcTestServer.DataPath("onnx", "identity_types.expected.json")));
        await using GrpcTestServer server = await GrpcTestServer.StartAsync(new OnnxBackend().Open(GrpcTestServer.DataPath("onnx", "identity_types.onnx"), "identity_types"));
        var request = new ModelInferRequest { ModelName = "identity_types" };
        foreach (JsonElement input in expected.RootElement.GetProperty("inputs").EnumerateArray())
        {
            bool fp16 = input.GetProperty("datatype").GetString() == "FP16";
            request.Inputs.Add(GrpcTensors.Input(input, typed: !fp16));
        }

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("input 'f16': FP16 has no typed contents field; send it in raw_input_contents (2-byte little-endian halves)", error.Status.Detail);
    }

    [Fact]
    public async Task OutOfRangeTypedValue_IsInvalidArgument()
    {
        await using GrpcTestServer server = await GrpcTestServer.StartAsync(new OnnxBackend().Open(GrpcTestServer.DataPath("onnx", "identity_types.onnx"), "identity_types"));
        using JsonDocument expected = JsonDocument.Parse(File.ReadAllBytes(GrpcTestServer.DataPath("onnx", "identity_types.expected.json")));
        var request = new ModelInferRequest { ModelName = "identity_types" };
        foreach (JsonElement input in expected.RootElement.GetProperty("inputs").EnumerateArray())
        {
            request.Inputs.Add(GrpcTensors.Input(input, typed: input.GetProperty("datatype").GetString() != "FP16")); // i8 is read first
        }

        request.Inputs[0].Contents = GrpcTensors.Contents("INT8", JsonSerializer.SerializeToElement(new[] { 1, 2, 300, 4 }).EnumerateArray().ToList());

        RpcException error = await Assert.ThrowsAsync<RpcException>(() => server.Client.ModelInferAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("input 'i8': element 2 of contents.int_contents is out of range for INT8", error.Status.Detail);
    }
}
