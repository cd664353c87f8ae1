using System.Text;
using BenchmarkDotNet.Attributes;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Backends.FastText;

namespace Sharpserve.Microbenchmarks;

/// <summary>
/// One prediction per operation, on the inputs the HTTP benchmarks send: the eight demo sentences on the demo
/// model, and random texts of ten "w&lt;hex&gt;" tokens on the large model (bench/lua/bench.lua draws the same
/// kind). This is the model's own cost with no HTTP, queue or thread hand-off around it.
/// </summary>
[MemoryDiagnoser]
public class PredictBenchmarks
{
    internal static readonly string[] LangTexts =
    [
        "Bonjour, je voudrais un café s'il vous plaît",
        "Guten Morgen, wie geht es dir heute?",
        "The weather is lovely this afternoon",
        "Buenos días, ¿cómo estás?",
        "Buongiorno, vorrei un caffè per favore",
        "Bom dia, tudo bem com você?",
        "Goedemorgen, hoe gaat het met je?",
        "God morgon, hur mår du idag?",
    ];

    private readonly FastTextPrediction[] _destination = new FastTextPrediction[1];
    private FastTextModel _demo = null!;
    private FastTextModel _large = null!;
    private FastTextPredictor _demoPredictor = null!;
    private FastTextPredictor _largePredictor = null!;
    private IModelSession _demoSession = null!;
    private byte[][] _langUtf8 = null!;
    private byte[][] _randomUtf8 = null!;
    private InferenceRequest[] _demoRequests = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        // The server's way: the model images that `sharpserve prepare` wrote, mapped read-only.
        _demo = FastTextModel.OpenImage(ModelImage.Open(Inputs.DemoImage), "langid");
        _large = FastTextModel.OpenImage(ModelImage.Open(Inputs.LargeImage), "large");
        _demoPredictor = _demo.CreatePredictor();
        _largePredictor = _large.CreatePredictor();
        _demoSession = _demo.CreateSession();
        _langUtf8 = LangTexts.Select(Encoding.UTF8.GetBytes).ToArray();
        var random = new Random(42);
        _randomUtf8 = new byte[1024][];
        for (int i = 0; i < _randomUtf8.Length; i++)
        {
            var words = Enumerable.Range(0, 10).Select(_ => "w" + random.Next(Inputs.RandomEntries).ToString("x"));
            _randomUtf8[i] = Encoding.UTF8.GetBytes(string.Join(' ', words));
        }

        _demoRequests = _langUtf8
            .Select(t => new InferenceRequest([Tensor.FromBytes("text", [1], [t])], InferenceParameters.Default))
            .ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _demoSession.Dispose();
        _demo.Dispose();
        _large.Dispose();
    }

    [Benchmark(Description = "predict, demo model, demo sentences")]
    public int PredictDemo() => Predict(_demoPredictor, _langUtf8[_next++ & 7]);

    [Benchmark(Description = "predict, large model, random texts")]
    public int PredictLarge() => Predict(_largePredictor, _randomUtf8[_next++ & 1023]);

    [Benchmark(Description = "session Infer (tensor in, result out), demo model")]
    public InferResult InferDemo() => _demoSession.Infer(_demoRequests[_next++ & 7]);

    private int Predict(FastTextPredictor predictor, byte[] text)
    {
        predictor.Reset();
        predictor.AddText(text);
        predictor.AddEndOfSentence();
        return predictor.Predict(1, 0f, _destination);
    }
}
