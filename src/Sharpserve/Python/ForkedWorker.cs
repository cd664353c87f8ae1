using System.Globalization;
using Sharpserve.Supervision;

namespace Sharpserve.Python;

/// <summary>
/// A worker forked by a Python zygote: not the front's child, so it is held through a pidfd opened as soon as the
/// zygote reports its pid (and checked to be the zygote's child, so a pid reused in between is never taken for it).
/// Killing goes through the pidfd; its exit is seen when the pidfd turns readable, and its exit status is the one the
/// zygote reports once it has reaped it (unknown when the zygote is gone).
/// </summary>
internal sealed class ForkedWorker : IWorkerHandle
{
    /// <summary>How long a seen exit waits for the zygote's report of its status before it is reported without one.</summary>
    private static readonly TimeSpan s_statusWait = TimeSpan.FromSeconds(1);

    private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task<string> _reportedStatus;
    private readonly Lock _lock = new();
    private int _pidfd;

    private ForkedWorker(int pid, int pidfd, Task<string> reportedStatus)
    {
        Pid = pid;
        _pidfd = pidfd;
        _reportedStatus = reportedStatus;
    }

    public int Pid { get; }

    public Task<string> Exited => _exited.Task;

    /// <summary>Holds worker <paramref name="pid"/>, which <paramref name="zygotePid"/> says it forked.</summary>
    /// <param name="reportedStatus">Completes with the exit status the zygote reports for it.</param>
    public static ForkedWorker Watch(int pid, int zygotePid, Task<string> reportedStatus)
    {
        int pidfd = PidfdNative.Open(pid);
        if (pidfd >= 0 && ParentOf(pid) != zygotePid && reportedStatus.IsCompleted is false)
        {
            // The pid now names a process that is not the zygote's child: ours had exited, been reaped, and its pid
            // was reused before the pidfd was opened. Never touch the stranger.
            PidfdNative.Close(pidfd);
            pidfd = -1;
        }

        var worker = new ForkedWorker(pid, pidfd, reportedStatus);
        if (pidfd < 0)
        {
            _ = worker.CompleteAsync(seenExit: true);
        }
        else
        {
            var thread = new Thread(worker.WatchExit) { IsBackground = true, Name = $"pidfd {pid}" };
            thread.Start();
        }

        return worker;
    }

    /// <summary>A worker that was never forked: its handle has exited already, with <paramref name="reason"/>.</summary>
    public static ForkedWorker NotForked(string reason)
    {
        var worker = new ForkedWorker(0, -1, Task.FromResult(reason));
        _ = Task.Run(() => worker._exited.TrySetResult(reason)); // not on the caller's stack: it holds the supervisor's lock
        return worker;
    }

    public void Kill()
    {
        lock (_lock)
        {
            if (_pidfd >= 0)
            {
                PidfdNative.SendSignal(_pidfd, PidfdNative.SigKill);
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_pidfd >= 0 && _exited.Task.IsCompleted)
            {
                PidfdNative.Close(_pidfd);
                _pidfd = -1;
            }
        }
    }

    private void WatchExit()
    {
        // A dedicated thread blocks in poll: a pidfd has no managed async wait, and a worker lives for hours.
        while (true)
        {
            int pidfd;
            lock (_lock)
            {
                pidfd = _pidfd;
            }

            if (pidfd < 0 || PidfdNative.WaitExited(pidfd, 1000) || _reportedStatus.IsCompleted)
            {
                break;
            }
        }

        _ = CompleteAsync(seenExit: true);
    }

    private async Task CompleteAsync(bool seenExit)
    {
        string status;
        try
        {
            status = seenExit ? await _reportedStatus.WaitAsync(s_statusWait).ConfigureAwait(false) : await _reportedStatus.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            status = "exited (its status went to its zygote, which is gone)";
        }

        _exited.TrySetResult(status);
        Dispose();
    }

    /// <summary>The parent pid in /proc/PID/stat (the field after the command, which may hold spaces and parentheses).</summary>
    private static int ParentOf(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return -1;
        }
    }
}
