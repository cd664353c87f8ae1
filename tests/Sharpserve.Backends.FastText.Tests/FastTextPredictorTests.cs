using System.Text;

namespace Sharpserve.Backends.FastText.Tests;

public sealed class FastTextPredictorTests : IDisposable
{
    private readonly FastTextModel _model = FastTextModel.Open(FastTextTestData.ModelPath("ova-sub-ng3"), "m");

    public void Dispose() => _model.Dispose();

    [Fact]
    public void AddText_SplitsOnTheSevenSeparators()
    {
        FastTextPredictor byText = _model.CreatePredictor();
        byText.AddText("  free\tsoftware\nfoundation\rinc\u000bcopyright\u000cnotice\0x  "u8);
        byText.AddEndOfSentence();

        FastTextPredictor byToken = _model.CreatePredictor();
        foreach (string token in new[] { "free", "software", "foundation", "inc", "copyright", "notice", "x", "</s>" })
        {
            byToken.AddToken(Encoding.UTF8.GetBytes(token));
        }

        Assert.Equal(PredictAll(byToken), PredictAll(byText));
    }

    [Fact]
    public void Predict_DoesNotChangeTheRecord()
    {
        FastTextPredictor predictor = _model.CreatePredictor();
        predictor.AddText("GNU Lesser General Public License"u8);
        predictor.AddEndOfSentence();
        FastTextPrediction[] first = PredictAll(predictor);
        var one = new FastTextPrediction[1];
        Assert.Equal(1, predictor.Predict(1, 0f, one));
        Assert.Equal(first, PredictAll(predictor));
        Assert.Equal(first[0], one[0]);
    }

    [Fact]
    public void Reset_StartsANewRecord()
    {
        FastTextPredictor predictor = _model.CreatePredictor();
        predictor.AddText("Mozilla Public License"u8);
        predictor.AddEndOfSentence();
        FastTextPrediction[] expected = PredictAll(predictor);

        predictor.Reset();
        predictor.AddText("something else entirely"u8);
        predictor.Reset();
        predictor.AddText("Mozilla Public License"u8);
        predictor.AddEndOfSentence();
        Assert.Equal(expected, PredictAll(predictor));
    }

    [Fact]
    public void Predict_WithoutFeatures_ReturnsNothing()
    {
        using FastTextModel model = FastTextModel.Open(FastTextTestData.ModelPath("softmax-default"), "m");
        FastTextPredictor predictor = model.CreatePredictor();
        Assert.Equal(0, predictor.Predict(-1, 0f, new FastTextPrediction[model.LabelCount]));
        predictor.AddToken("unknownword"u8);
        predictor.AddToken("__label__BSD"u8);
        Assert.Equal(0, predictor.Predict(-1, 0f, new FastTextPrediction[model.LabelCount]));
    }

    [Fact]
    public void Predict_ReturnsDescendingProbabilities()
    {
        FastTextPredictor predictor = _model.CreatePredictor();
        predictor.AddText("the GNU General Public License is a free, copyleft license"u8);
        predictor.AddEndOfSentence();
        FastTextPrediction[] all = PredictAll(predictor);
        Assert.Equal(_model.LabelCount, all.Length);
        for (int i = 1; i < all.Length; i++)
        {
            Assert.True(all[i - 1].Probability >= all[i].Probability);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Predict_InvalidK_Throws(int k)
    {
        FastTextPredictor predictor = _model.CreatePredictor();
        Assert.Throws<ArgumentOutOfRangeException>(() => predictor.Predict(k, 0f, new FastTextPrediction[_model.LabelCount]));
    }

    [Fact]
    public void Predict_DestinationTooSmall_Throws()
    {
        FastTextPredictor predictor = _model.CreatePredictor();
        Assert.Throws<ArgumentException>(() => predictor.Predict(3, 0f, new FastTextPrediction[2]));
        Assert.Throws<ArgumentException>(() => predictor.Predict(-1, 0f, new FastTextPrediction[_model.LabelCount - 1]));
    }

    [Theory]
    [InlineData("ova-sub-ng3")]
    [InlineData("hs-sharp")]
    [InlineData("softmax-ng2")]
    public void Predict_AfterWarmUp_DoesNotAllocate(string modelName)
    {
        using FastTextModel model = FastTextModel.Open(FastTextTestData.ModelPath(modelName), "m");
        FastTextPredictor predictor = model.CreatePredictor();
        var predictions = new FastTextPrediction[model.LabelCount];
        byte[] text = Encoding.UTF8.GetBytes("Permission is hereby granted, free of charge, to any person obtaining a copy café λόγος zzyzx");
        RunOnce(predictor, text, predictions);

        // The best of three rounds: when tiered compilation promotes a method and its background worker thread
        // has exited (idle for 4 s), the runtime starts a new one from the calling thread, which allocates ~6 KB
        // here that the predictor does not own (DOTNET_TC_BackgroundWorkerTimeoutMs makes it disappear).
        long fewest = long.MaxValue;
        for (int round = 0; round < 3 && fewest != 0; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++)
            {
                RunOnce(predictor, text, predictions);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        Assert.Equal(0, fewest);
    }

    private static void RunOnce(FastTextPredictor predictor, byte[] text, FastTextPrediction[] predictions)
    {
        predictor.Reset();
        predictor.AddText(text);
        predictor.AddEndOfSentence();
        predictor.Predict(-1, 0f, predictions);
        predictor.Predict(1, 0.5f, predictions);
    }

    private FastTextPrediction[] PredictAll(FastTextPredictor predictor)
    {
        var predictions = new FastTextPrediction[_model.LabelCount];
        int count = predictor.Predict(-1, 0f, predictions);
        return predictions.AsSpan(0, count).ToArray();
    }
}
