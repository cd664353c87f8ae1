namespace Sharpserve.Python;

/// <summary>One zygote in /status: its generation, process, state (loading, serving, retiring, restarting), live workers and memory.</summary>
public sealed record ZygoteStatus(
    int Generation, int Pid, string State, int Workers, int Restarts, long RssBytes, long PssBytes, long PrivateDirtyBytes);

/// <summary>What /status shows of a launcher that forks workers from zygotes.</summary>
public interface IZygoteStatus
{
    IReadOnlyList<ZygoteStatus> Zygotes { get; }
}
