using Sharpserve.Core.Batching;

namespace Sharpserve.Core.Tests.Batching;

public sealed class BatchingOptionsTests
{
    [Fact]
    public void PreferredSizes_CloseABatchAtTheLargest()
    {
        var options = new BatchingOptions { MaxBatchSize = 16, PreferredBatchSizes = [4, 8] };

        Assert.True(options.IsEnabled);
        Assert.True(options.IsPreferred(4));
        Assert.False(options.IsPreferred(5));
        Assert.Equal(8, options.ClosingSize);
        Assert.Equal(16, new BatchingOptions { MaxBatchSize = 16 }.ClosingSize);
        Assert.False(BatchingOptions.Off.IsEnabled);
    }
}
