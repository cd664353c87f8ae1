namespace Sharpserve.Testing;

/// <summary>
/// The faults the tests' worker host (tests/Sharpserve.FaultHost, <c>sharpserve-faulty</c>) injects; nothing of this
/// ships in sharpserve. A request whose first text is a marker makes the worker hang on it, die at once, answer
/// after a second (or once <see cref="ReleaseVariable"/>'s file exists), or take and keep 256 MiB of anonymous
/// memory and answer. Its environment sets the rest: <see cref="OnceVariable"/>=PATH lets only the first worker to
/// create PATH inject a marker's fault (the others answer it, so a retry on a sibling succeeds);
/// <see cref="ReadyDelayVariable"/>=N makes every worker wait N ms before Ready; <see cref="DieAtStartVariable"/>=1
/// makes every worker exit (code 3) instead of saying Ready.
/// </summary>
public static class WorkerFaults
{
    public const string Hang = "__sharpserve_fault_hang__";
    public const string Crash = "__sharpserve_fault_crash__";
    public const string Slow = "__sharpserve_fault_slow__";
    public const string Grow = "__sharpserve_fault_grow__";

    public const string OnceVariable = "SHARPSERVE_TEST_FAULT_ONCE";
    public const string ReleaseVariable = "SHARPSERVE_TEST_RELEASE";
    public const string ReadyDelayVariable = "SHARPSERVE_TEST_READY_DELAY_MS";
    public const string DieAtStartVariable = "SHARPSERVE_TEST_DIE_AT_START";

    /// <summary>The fault host's executable (beside the test assembly): run it as <c>dotnet PATH serve ...</c>.</summary>
    public static string HostPath => Path.Combine(AppContext.BaseDirectory, "sharpserve-faulty.dll");
}
