using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Tests.Hosting;

public sealed class WarmupWideRequestTests
{
    private static ModelMetadata Metadata(params TensorMetadata[] inputs) =>
        new("m", "test", inputs, [new TensorMetadata("label", TensorDataType.Bytes, [-1])]);

    [Fact]
    public void ATextRequest_IsRepeatedToTheMaximumRows_InOrder()
    {
        byte[][] texts = [Encoding.UTF8.GetBytes("bonjour"), Encoding.UTF8.GetBytes("hallo")];
        var request = new InferenceRequest([Tensor.FromBytes("text", [2], texts)], new InferenceParameters(2, 0.1f));

        InferenceRequest? wide = WarmupWideRequest.Create(request, Metadata(new TensorMetadata("text", TensorDataType.Bytes, [-1])));

        Assert.NotNull(wide);
        Tensor input = Assert.Single(wide.Inputs);
        Assert.Equal([WarmupWideRequest.MaxRows], input.Shape);
        Assert.Equal(WarmupWideRequest.MaxRows, input.BytesData!.Length);
        Assert.Equal("hallo", Encoding.UTF8.GetString(input.BytesData[WarmupWideRequest.MaxRows - 1]));
        Assert.Equal(request.Parameters, wide.Parameters);
    }

    [Fact]
    public void NumericRows_AreRepeatedUpToTheTargetBytes_WithTheirOtherDimensions()
    {
        // One row of 64 float32 (256 bytes): 16 KiB holds 64 of them.
        var row = new float[64];
        row[3] = 3.5f;
        var request = new InferenceRequest([Tensor.FromFp32("x", [1, 64], row)], InferenceParameters.Default);

        InferenceRequest? wide = WarmupWideRequest.Create(request, Metadata(new TensorMetadata("x", TensorDataType.Fp32, [-1, 64])));

        Tensor input = Assert.Single(wide!.Inputs);
        Assert.Equal([WarmupWideRequest.TargetBytes / 256L, 64], input.Shape);
        Assert.Equal(3.5f, input.Fp32Data![64 + 3]);
    }

    [Fact]
    public void AFixedFirstDimension_IsNotWidened()
    {
        var request = new InferenceRequest([Tensor.FromFp32("x", [1, 4], new float[4])], InferenceParameters.Default);

        Assert.Null(WarmupWideRequest.Create(request, Metadata(new TensorMetadata("x", TensorDataType.Fp32, [1, 4]))));
    }

    [Fact]
    public void RowsAlreadyLarge_AreNotWidened()
    {
        var request = new InferenceRequest([Tensor.FromFp32("x", [1, 8192], new float[8192])], InferenceParameters.Default);

        Assert.Null(WarmupWideRequest.Create(request, Metadata(new TensorMetadata("x", TensorDataType.Fp32, [-1, 8192]))));
    }

    [Fact]
    public void InputsThatDisagreeOnRows_AreNotWidened()
    {
        var request = new InferenceRequest(
            [Tensor.FromFp32("a", [2], new float[2]), Tensor.FromFp32("b", [3], new float[3])], InferenceParameters.Default);
        ModelMetadata metadata = Metadata(new TensorMetadata("a", TensorDataType.Fp32, [-1]), new TensorMetadata("b", TensorDataType.Fp32, [-1]));

        Assert.Null(WarmupWideRequest.Create(request, metadata));
    }
}
