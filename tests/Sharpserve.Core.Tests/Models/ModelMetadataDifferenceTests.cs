using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Core.Tests.Models;

public sealed class ModelMetadataDifferenceTests
{
    private static ModelMetadata Model(string platform, params TensorMetadata[] inputs) =>
        new("m", platform, inputs, [new TensorMetadata("y", TensorDataType.Fp32, [-1, 4])]);

    [Fact]
    public void Describe_SameTensors_IsNull()
    {
        ModelMetadata a = Model("onnxruntime_onnx", new TensorMetadata("x", TensorDataType.Fp32, [-1, 64]));
        ModelMetadata b = Model("onnxruntime_onnx", new TensorMetadata("x", TensorDataType.Fp32, [-1, 64])) with { Name = "other" };

        Assert.Null(ModelMetadataDifference.Describe(a, b));
    }

    [Theory]
    [InlineData("ids", TensorDataType.Fp32, 64, "x FP32 [-1,64]] -> [ids FP32 [-1,64]]")]
    [InlineData("x", TensorDataType.Int64, 64, "x FP32 [-1,64]] -> [x INT64 [-1,64]]")]
    [InlineData("x", TensorDataType.Fp32, 32, "x FP32 [-1,64]] -> [x FP32 [-1,32]]")]
    public void Describe_AnInputDiffers_NamesBothInputLists(string name, TensorDataType type, long width, string expected)
    {
        ModelMetadata a = Model("onnxruntime_onnx", new TensorMetadata("x", TensorDataType.Fp32, [-1, 64]));
        ModelMetadata b = Model("onnxruntime_onnx", new TensorMetadata(name, type, [-1, width]));

        string? difference = ModelMetadataDifference.Describe(a, b);

        Assert.NotNull(difference);
        Assert.StartsWith("inputs [", difference, StringComparison.Ordinal);
        Assert.Contains(expected, difference, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_AnExtraInputOrAnotherPlatform_IsADifference()
    {
        ModelMetadata a = Model("onnxruntime_onnx", new TensorMetadata("x", TensorDataType.Fp32, [-1, 64]));
        ModelMetadata b = Model("fasttext", new TensorMetadata("x", TensorDataType.Fp32, [-1, 64]), new TensorMetadata("z", TensorDataType.Bool, [1]));

        string? difference = ModelMetadataDifference.Describe(a, b);

        Assert.Contains("platform onnxruntime_onnx -> fasttext", difference, StringComparison.Ordinal);
        Assert.Contains("z BOOL [1]", difference, StringComparison.Ordinal);
    }
}
