using System.Text;
using System.Text.Json;
using Sharpserve.Abstractions;
using Sharpserve.Http;

namespace Sharpserve.FunctionalTests;

/// <summary>OIP JSON tensors of every datatype, read and written without a server.</summary>
public sealed class OipTensorDataTests
{
    private static ModelMetadata Metadata(TensorDataType type, params long[] shape) =>
        new("m", "test", [new TensorMetadata("x", type, shape)], [new TensorMetadata("y", type, shape)]);

    private static Tensor Read(string datatype, string shape, string data, TensorDataType type, params long[] expectedShape)
    {
        string json = $$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":{{shape}},"data":{{data}}}]}""";
        Assert.True(OipInferRequestReader.TryRead(Encoding.UTF8.GetBytes(json), Metadata(type, expectedShape), out OipInferRequest? request, out string? error), error);
        return request!.Request.Inputs[0];
    }

    private static string ReadError(string datatype, string shape, string data, TensorDataType type, params long[] expectedShape)
    {
        string json = $$"""{"inputs":[{"name":"x","datatype":"{{datatype}}","shape":{{shape}},"data":{{data}}}]}""";
        Assert.False(OipInferRequestReader.TryRead(Encoding.UTF8.GetBytes(json), Metadata(type, expectedShape), out _, out string? error));
        return error!;
    }

    private static string Write(Tensor tensor)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            OipResponseWriter.WriteTensor(writer, tensor);
        }

        using JsonDocument document = JsonDocument.Parse(stream.ToArray());
        return document.RootElement.GetProperty("data").GetRawText();
    }

    [Theory]
    [InlineData("BOOL", TensorDataType.Bool, "[true,false,true]")]
    [InlineData("UINT8", TensorDataType.UInt8, "[0,255,7]")]
    [InlineData("UINT16", TensorDataType.UInt16, "[0,65535,7]")]
    [InlineData("UINT32", TensorDataType.UInt32, "[0,4294967295,7]")]
    [InlineData("UINT64", TensorDataType.UInt64, "[0,18446744073709551615,7]")]
    [InlineData("INT8", TensorDataType.Int8, "[-128,127,0]")]
    [InlineData("INT16", TensorDataType.Int16, "[-32768,32767,0]")]
    [InlineData("INT32", TensorDataType.Int32, "[-2147483648,2147483647,0]")]
    [InlineData("INT64", TensorDataType.Int64, "[-9223372036854775808,9223372036854775807,0]")]
    [InlineData("FP16", TensorDataType.Fp16, "[1.5,-2,65504]")]
    [InlineData("FP32", TensorDataType.Fp32, "[1.5,-2,3.4028235E+38]")]
    [InlineData("FP64", TensorDataType.Fp64, "[1.5,-2,1E+300]")]
    public void EveryDatatype_RoundTripsThroughJson(string datatype, TensorDataType type, string data)
    {
        Tensor tensor = Read(datatype, "[3]", data, type, -1);

        Assert.Equal(type, tensor.DataType);
        Assert.Equal(3, tensor.ElementCount);
        Assert.Equal(3 * type.ElementSize(), tensor.RawData.Length);
        Assert.Equal(data, Write(tensor));
    }

    [Fact]
    public void NestedData_IsReadRowMajor()
    {
        Tensor tensor = Read("INT64", "[2,2]", "[[1,2],[3,4]]", TensorDataType.Int64, -1, 2);

        Assert.Equal([1L, 2, 3, 4], tensor.GetData<long>().ToArray());
    }

    [Theory]
    [InlineData("FP32", TensorDataType.Fp32, "[]", "2.5", "[2.5]")]
    [InlineData("INT64", TensorDataType.Int64, "[1]", "-7", "[-7]")]
    [InlineData("BOOL", TensorDataType.Bool, "[1,1]", "true", "[true]")]
    [InlineData("BYTES", TensorDataType.Bytes, "[]", "\"hola\"", "[\"hola\"]")]
    public void BareValue_IsOneElement(string datatype, TensorDataType type, string shape, string data, string written)
    {
        // numpy's tolist() of a 0-d array is a bare value, not a list.
        long[] declared = JsonSerializer.Deserialize<long[]>(shape)!;
        Tensor tensor = Read(datatype, shape, data, type, declared);

        Assert.Equal(declared, tensor.Shape.ToArray());
        Assert.Equal(1, tensor.ElementCount);
        Assert.Equal(written, Write(tensor));
    }

    [Theory]
    [InlineData("[2]", "1.5", "a bare value is taken only for a one-element tensor")]
    [InlineData("[1]", "null", "'data' must be an array")]
    [InlineData("[1]", "{\"v\": 1}", "'data' must be an array")]
    [InlineData("[]", "\"1.5\"", "must hold numbers")]
    [InlineData("[]", "1e39", "not a valid FP32")]
    public void BareValue_OtherwiseIsAnError(string shape, string data, string message)
    {
        string error = ReadError("FP32", shape, data, TensorDataType.Fp32, JsonSerializer.Deserialize<long[]>(shape)!);

        Assert.Contains("'x'", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[2,3]", "[1,2,3,4,5,6]")]
    [InlineData("[2,3]", "[[1,2,3],[4,5,6]]")]
    [InlineData("[2,1]", "[[1],[2]]")]
    [InlineData("[2]", "[[1],[2]]")] // dimensions of 1 do not change the order
    [InlineData("[1,2]", "[1,2]")]
    [InlineData("[1,2]", "[[1,2]]")]
    [InlineData("[2,0]", "[[],[]]")]
    [InlineData("[0,4]", "[]")]
    public void NestedData_ThatSaysTheShape_IsTaken(string shape, string data)
    {
        long[] declared = JsonSerializer.Deserialize<long[]>(shape)!;
        Tensor tensor = Read("INT64", shape, data, TensorDataType.Int64, [.. declared.Select(_ => -1L)]);

        Assert.Equal(declared, tensor.Shape);
        Assert.Equal(Enumerable.Range(1, (int)tensor.ElementCount).Select(i => (long)i), tensor.GetData<long>().ToArray());
    }

    [Theory]
    [InlineData("[2,3]", "[[1,2],[3,4],[5,6]]")] // the right count, but the client meant [3,2]
    [InlineData("[2,2]", "[[1,2,3],[4]]")] // ragged
    [InlineData("[2,2]", "[1,2,[3,4]]")] // mixed depths
    [InlineData("[4]", "[[1,2],[3,4]]")]
    [InlineData("[2,2]", "[[[1,2]],[[3,4]],[]]")]
    public void NestedData_ThatDoesNotSayTheShape_IsAnError(string shape, string data)
    {
        long[] declared = JsonSerializer.Deserialize<long[]>(shape)!;
        string error = ReadError("INT64", shape, data, TensorDataType.Int64, [.. declared.Select(_ => -1L)]);

        Assert.Contains("input 'x': nested 'data' does not have shape " + shape, error, StringComparison.Ordinal);
    }

    [Fact]
    public void DataBeforeDatatype_IsParsedWithTheDatatype()
    {
        string json = """{"inputs":[{"data":[9007199254740993],"name":"x","shape":[1],"datatype":"INT64"}]}""";
        Assert.True(OipInferRequestReader.TryRead(Encoding.UTF8.GetBytes(json), Metadata(TensorDataType.Int64, 1), out OipInferRequest? request, out string? error), error);

        // Above 2^53: parsed as an integer, not through a double.
        Assert.Equal(9007199254740993L, request!.Request.Inputs[0].GetData<long>()[0]);
    }

    [Theory]
    [InlineData("INT8", TensorDataType.Int8, "[300]", "not a valid INT8")]
    [InlineData("INT8", TensorDataType.Int8, "[-129]", "not a valid INT8")]
    [InlineData("UINT8", TensorDataType.UInt8, "[-1]", "not a valid UINT8")]
    [InlineData("UINT16", TensorDataType.UInt16, "[65536]", "not a valid UINT16")]
    [InlineData("INT32", TensorDataType.Int32, "[1.5]", "not a valid INT32")]
    [InlineData("INT32", TensorDataType.Int32, "[2147483648]", "not a valid INT32")]
    [InlineData("UINT32", TensorDataType.UInt32, "[4294967296]", "not a valid UINT32")]
    [InlineData("INT64", TensorDataType.Int64, "[9223372036854775808]", "not a valid INT64")]
    [InlineData("UINT64", TensorDataType.UInt64, "[18446744073709551616]", "not a valid UINT64")]
    [InlineData("INT64", TensorDataType.Int64, "[1e3]", "not a valid INT64")]
    [InlineData("FP16", TensorDataType.Fp16, "[70000]", "not a valid FP16")]
    [InlineData("FP32", TensorDataType.Fp32, "[1e39]", "not a valid FP32")]
    [InlineData("FP64", TensorDataType.Fp64, "[1e309]", "not a valid FP64")]
    [InlineData("BOOL", TensorDataType.Bool, "[1]", "not a valid BOOL")]
    [InlineData("BOOL", TensorDataType.Bool, "[\"true\"]", "true or false")]
    [InlineData("INT32", TensorDataType.Int32, "[\"1\"]", "must hold numbers")]
    [InlineData("INT32", TensorDataType.Int32, "[true]", "not a valid INT32")]
    [InlineData("INT32", TensorDataType.Int32, "[1,2]", "holds 2 values")]
    [InlineData("INT32", TensorDataType.Int32, "[null]", "may hold only")]
    public void OutOfRangeOrMistypedValue_IsAnErrorNamingTheTensor(string datatype, TensorDataType type, string data, string message)
    {
        string error = ReadError(datatype, "[1]", data, type, -1);

        Assert.Contains("'x'", error, StringComparison.Ordinal);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void HugeDeclaredShape_IsRefusedBeforeAllocating()
    {
        string error = ReadError("FP32", "[4294967296,4294967296]", "[1]", TensorDataType.Fp32, -1, -1);

        Assert.Contains("more than", error, StringComparison.Ordinal);
    }

    [Fact]
    public void WrongDatatype_NamesTheTensorAndTheExpectedType()
    {
        string error = ReadError("INT32", "[1]", "[1]", TensorDataType.Int64, -1);

        Assert.Contains("input 'x' has datatype INT32", error, StringComparison.Ordinal);
        Assert.Contains("expects INT64", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NonFiniteOutputs_AreWrittenAsNull()
    {
        Assert.Equal("[null,1]", Write(Tensor.FromFp32("y", [2], [float.NaN, 1f])));
        Assert.Equal("[null]", Write(Tensor.FromFp64("y", [1], [double.PositiveInfinity])));
    }
}
