using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Worker;

/// <summary>
/// Fault injection for the supervisor's tests, active only when the worker's environment has
/// SHARPSERVE_TEST_FAULTS=1 (which only tests set). A request whose first text is one of these markers makes the
/// worker hang on it, go silent (no more Pongs), die at once, answer after a second, or take and keep 256 MiB of
/// anonymous memory before answering (a leak, for --max-worker-memory). With
/// SHARPSERVE_TEST_FAULT_ONCE=PATH, only the first worker to create PATH injects the fault; the others treat the
/// marker as ordinary text, so a retry on a sibling succeeds. SHARPSERVE_TEST_READY_DELAY_MS=N makes every worker
/// wait N ms before saying Ready, like a model that is slow to load; SHARPSERVE_TEST_DIE_AT_START=1 makes every
/// worker exit (code 3) instead of saying Ready, like a model that crashes while loading. With
/// SHARPSERVE_TEST_RELEASE=PATH, a slow request is answered once PATH exists instead of after a second, so a test
/// decides when.
/// </summary>
internal static class WorkerFaults
{
    public const string EnvironmentVariable = "SHARPSERVE_TEST_FAULTS";
    public const string OnceVariable = "SHARPSERVE_TEST_FAULT_ONCE";
    public const string Hang = "__sharpserve_fault_hang__";
    public const string Silence = "__sharpserve_fault_silence__";
    public const string Crash = "__sharpserve_fault_crash__";
    public const string Slow = "__sharpserve_fault_slow__";
    public const string Grow = "__sharpserve_fault_grow__";
    public const string ReleaseVariable = "SHARPSERVE_TEST_RELEASE";

    private static readonly List<byte[]> s_leaked = [];

    public static bool Enabled { get; } = Environment.GetEnvironmentVariable(EnvironmentVariable) == "1";

    /// <summary>How long a worker waits before saying Ready; zero unless faults are enabled and a delay is set.</summary>
    public static TimeSpan ReadyDelay { get; } =
        Enabled && int.TryParse(Environment.GetEnvironmentVariable("SHARPSERVE_TEST_READY_DELAY_MS"), out int ms) && ms > 0
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.Zero;

    /// <summary>Waits as a slow request does: until the release file exists, or one second without one.</summary>
    public static async Task WaitSlowAsync()
    {
        string? release = Environment.GetEnvironmentVariable(ReleaseVariable);
        if (string.IsNullOrEmpty(release))
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            return;
        }

        while (!File.Exists(release))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(20));
        }
    }
    /// <summary>Every worker exits instead of saying Ready; false unless faults are enabled and it is asked for.</summary>
    public static bool DieAtStart { get; } = Enabled && Environment.GetEnvironmentVariable("SHARPSERVE_TEST_DIE_AT_START") == "1";

    public static string? Find(InferenceRequest request)
    {
        if (!Enabled || request.Inputs.Count == 0 || request.Inputs[0].BytesData is not { Length: > 0 } texts)
        {
            return null;
        }

        string first = Encoding.UTF8.GetString(texts[0]);
        if (first is not (Hang or Silence or Crash or Slow or Grow))
        {
            return null;
        }

        return ClaimOnce() ? first : null;
    }

    /// <summary>Takes 256 MiB of anonymous memory, touching every page so it is resident, and never frees it.</summary>
    public static void Leak()
    {
        for (int i = 0; i < 16; i++)
        {
            byte[] block = GC.AllocateUninitializedArray<byte>(16 << 20, pinned: true);
            for (int page = 0; page < block.Length; page += 4096)
            {
                block[page] = 1;
            }

            s_leaked.Add(block);
        }
    }

    private static bool ClaimOnce()
    {
        string? path = Environment.GetEnvironmentVariable(OnceVariable);
        if (string.IsNullOrEmpty(path))
        {
            return true;
        }

        try
        {
            using (File.Open(path, FileMode.CreateNew))
            {
                return true;
            }
        }
        catch (IOException)
        {
            return false; // another worker took it
        }
    }
}
