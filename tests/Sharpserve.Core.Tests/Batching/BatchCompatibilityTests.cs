using Sharpserve.Abstractions;
using Sharpserve.Core.Batching;

namespace Sharpserve.Core.Tests.Batching;

public sealed class BatchCompatibilityTests
{
    private static InferenceRequest Request(params Tensor[] inputs) => new(inputs, InferenceParameters.Default);

    private static Tensor X(params long[] shape) => Tensor.FromFp32("x", shape, new float[shape.Aggregate(1L, (a, b) => a * b)]);

    [Fact]
    public void SameInputsDifferingOnlyInTheFirstDimension_AreCompatible()
    {
        Assert.True(BatchCompatibility.AreCompatible(Request(X(1, 4)), Request(X(3, 4))));
        Assert.True(BatchCompatibility.AreCompatible(
            Request(X(1, 4)),
            new InferenceRequest([X(2, 4)], new InferenceParameters(5, 0.5f), ["y"]))); // outputs and parameters may differ
    }

    [Fact]
    public void OtherDimensionsNamesDatatypesRanksOrOrder_AreNotCompatible()
    {
        InferenceRequest first = Request(X(1, 4), Tensor.FromInt64("n", [1], [7]));

        Assert.False(BatchCompatibility.AreCompatible(first, Request(X(1, 5), Tensor.FromInt64("n", [1], [7]))));
        Assert.False(BatchCompatibility.AreCompatible(first, Request(X(1, 4, 1), Tensor.FromInt64("n", [1], [7]))));
        Assert.False(BatchCompatibility.AreCompatible(first, Request(X(1, 4), Tensor.FromInt32("n", [1], [7]))));
        Assert.False(BatchCompatibility.AreCompatible(first, Request(X(1, 4), Tensor.FromInt64("m", [1], [7]))));
        Assert.False(BatchCompatibility.AreCompatible(first, Request(Tensor.FromInt64("n", [1], [7]), X(1, 4))));
        Assert.False(BatchCompatibility.AreCompatible(first, Request(X(1, 4))));
    }

    [Fact]
    public void ARequestWithAScalarOrNoInput_IsNotBatchable()
    {
        Assert.True(BatchCompatibility.IsBatchable(Request(X(1, 4))));
        Assert.False(BatchCompatibility.IsBatchable(Request(Tensor.FromFp32("x", [], [1f]))));
        Assert.False(BatchCompatibility.IsBatchable(Request()));
    }
}
