using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Worker;

/// <summary>
/// Fault injection for the supervisor's tests, active only when the worker's environment has
/// SHARPSERVE_TEST_FAULTS=1 (which only tests set): a request whose first text is one of these markers makes
/// the worker hang on it, go silent (no more Pongs), or die at once.
/// </summary>
internal static class WorkerFaults
{
    public const string EnvironmentVariable = "SHARPSERVE_TEST_FAULTS";
    public const string Hang = "__sharpserve_fault_hang__";
    public const string Silence = "__sharpserve_fault_silence__";
    public const string Crash = "__sharpserve_fault_crash__";

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable(EnvironmentVariable) == "1";

    public static string? Find(InferenceRequest request)
    {
        if (!Enabled || request.Inputs.Count == 0 || request.Inputs[0].BytesData is not { Length: > 0 } texts)
        {
            return null;
        }

        string first = Encoding.UTF8.GetString(texts[0]);
        return first is Hang or Silence or Crash ? first : null;
    }
}
