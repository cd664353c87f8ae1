using System.Diagnostics;
using System.Text;

namespace Sharpserve.WorkerConformance;

/// <summary>A worker that is a child process of the test, started from a <see cref="ProcessStartInfo"/>.</summary>
public sealed class ProcessWorkerHandle : WorkerHandle
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ProcessWorkerHandle(Process process)
    {
        _process = process;
    }

    public override int Pid => _process.Id;

    public override bool HasExited => _process.HasExited;

    public override int ExitCode => _process.ExitCode;

    public override string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the process with its standard output and error captured (and standard input closed).</summary>
    public static ProcessWorkerHandle Start(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = new Process { StartInfo = info };
        var handle = new ProcessWorkerHandle(process);
        process.OutputDataReceived += (_, e) => handle.Append(e.Data);
        process.ErrorDataReceived += (_, e) => handle.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return handle;
    }

    public override async Task<bool> WaitForExitAsync(TimeSpan bound)
    {
        using var timeout = new CancellationTokenSource(bound);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public override void Kill()
    {
        try
        {
            _process.Kill();
            // Bounded, and without waiting for the end of its output, which a child of the worker may hold open.
            _process.WaitForExit(TimeSpan.FromSeconds(60));
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
