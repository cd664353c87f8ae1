using System.Text.Json;

namespace Sharpserve.WorkerConformance;

/// <summary>
/// One request and the outputs it must produce, computed independently of the worker (numpy, the reference tool).
/// Floats (FP16, FP32, FP64) match within <paramref name="Tolerance"/> × max(1, |expected|); everything else exactly.
/// </summary>
public sealed record ConformanceCase(string Name, WireRequest Request, IReadOnlyList<WireTensor> ExpectedOutputs, double Tolerance = 1e-5)
{
    /// <summary>
    /// A case from an OIP JSON file <c>{"inputs": [...], "outputs": [...]}</c> such as the committed
    /// <c>tests/data/onnx/NAME.expected.json</c>: the inputs are sent, every output is expected.
    /// </summary>
    public static ConformanceCase FromExpectedJson(string path, double tolerance = 1e-5)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(path));
        WireTensor[] inputs = [.. document.RootElement.GetProperty("inputs").EnumerateArray().Select(WireTensor.FromJson)];
        WireTensor[] outputs = [.. document.RootElement.GetProperty("outputs").EnumerateArray().Select(WireTensor.FromJson)];
        return new ConformanceCase(Path.GetFileName(path), new WireRequest(inputs), outputs, tolerance);
    }
}
