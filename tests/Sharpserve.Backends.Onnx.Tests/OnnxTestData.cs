using System.Text;
using System.Text.Json;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx.Tests;

/// <summary>
/// The committed test models (tools/make-onnx-test-models.py) and their numpy-computed expected outputs
/// (<c>NAME.expected.json</c>, OIP JSON tensors), turned into <see cref="Tensor"/>s and compared with tolerance.
/// </summary>
internal static class OnnxTestData
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "data", "onnx");

    public static string Model(string name) => Path.Combine(Directory, name + ".onnx");

    public static (List<Tensor> Inputs, List<Tensor> Outputs) Expected(string name)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Directory, name + ".expected.json")));
        return (Tensors(document.RootElement.GetProperty("inputs")), Tensors(document.RootElement.GetProperty("outputs")));
    }

    private static List<Tensor> Tensors(JsonElement array)
    {
        var tensors = new List<Tensor>();
        foreach (JsonElement element in array.EnumerateArray())
        {
            tensors.Add(ToTensor(element));
        }

        return tensors;
    }

    public static Tensor ToTensor(JsonElement element)
    {
        string name = element.GetProperty("name").GetString()!;
        Assert.True(TensorDataTypes.TryParse(Encoding.UTF8.GetBytes(element.GetProperty("datatype").GetString()!), out TensorDataType type));
        long[] shape = [.. element.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64())];
        JsonElement[] data = [.. element.GetProperty("data").EnumerateArray()];
        return type switch
        {
            TensorDataType.Bytes => Tensor.FromBytes(name, shape, [.. data.Select(d => Encoding.UTF8.GetBytes(d.GetString()!))]),
            TensorDataType.Fp32 => Tensor.FromFp32(name, shape, [.. data.Select(d => d.GetSingle())]),
            TensorDataType.Fp64 => Tensor.FromFp64(name, shape, [.. data.Select(d => d.GetDouble())]),
            TensorDataType.Fp16 => Tensor.FromValues<Half>(name, type, shape, [.. data.Select(d => (Half)d.GetDouble())]),
            TensorDataType.Int64 => Tensor.FromInt64(name, shape, [.. data.Select(d => d.GetInt64())]),
            TensorDataType.Int32 => Tensor.FromInt32(name, shape, [.. data.Select(d => d.GetInt32())]),
            TensorDataType.UInt8 => Tensor.FromValues<byte>(name, type, shape, [.. data.Select(d => d.GetByte())]),
            TensorDataType.Bool => Tensor.FromBool(name, shape, [.. data.Select(d => d.GetBoolean())]),
            _ => throw new NotSupportedException(type.ToString()),
        };
    }

    /// <summary>Same name, datatype and shape; floats within a relative and absolute tolerance, everything else exact.</summary>
    public static void AssertClose(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Name, actual.Name);
        Assert.Equal(expected.DataType, actual.DataType);
        Assert.Equal(expected.Shape, actual.Shape);
        switch (expected.DataType)
        {
            case TensorDataType.Fp32:
                for (int i = 0; i < expected.Fp32Data!.Length; i++)
                {
                    AssertNear(expected.Fp32Data[i], actual.Fp32Data![i], 1e-5, expected.Name, i);
                }

                break;
            case TensorDataType.Fp64:
                ReadOnlySpan<double> e = expected.GetData<double>();
                ReadOnlySpan<double> a = actual.GetData<double>();
                for (int i = 0; i < e.Length; i++)
                {
                    AssertNear(e[i], a[i], 1e-12, expected.Name, i);
                }

                break;
            case TensorDataType.Bytes:
                Assert.Equal(expected.BytesData, actual.BytesData);
                break;
            default:
                Assert.Equal(expected.RawData.ToArray(), actual.RawData.ToArray());
                break;
        }
    }

    private static void AssertNear(double expected, double actual, double tolerance, string name, int index)
    {
        double allowed = tolerance * Math.Max(1, Math.Abs(expected));
        Assert.True(Math.Abs(expected - actual) <= allowed, $"{name}[{index}]: expected {expected}, got {actual}");
    }
}
