using System.Diagnostics;
using System.Globalization;

namespace Sharpserve.Supervision;

/// <summary>A worker the front started as its child process: watched through <see cref="Process"/>, killed by pid.</summary>
internal sealed class SpawnedWorker : IWorkerHandle
{
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SpawnedWorker(Process process, Action<string> output)
    {
        _process = process;
        Pid = process.Id;
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => _exited.TrySetResult(Describe(process));
        process.OutputDataReceived += (_, e) => Forward(e.Data, output);
        process.ErrorDataReceived += (_, e) => Forward(e.Data, output);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (process.HasExited)
        {
            _exited.TrySetResult(Describe(process));
        }
    }

    public int Pid { get; }

    public Task<string> Exited => _exited.Task;

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void Dispose() => _process.Dispose();

    private static void Forward(string? line, Action<string> output)
    {
        if (!string.IsNullOrEmpty(line))
        {
            output(line);
        }
    }

    /// <summary>How a child process ended, for logs: "exited with code 3", "was killed by signal 9".</summary>
    internal static string Describe(Process process)
    {
        try
        {
            int code = process.ExitCode;
            // .NET reports death by signal N as 128 + N.
            return code > 128 ? $"was killed by signal {code - 128}" : $"exited with code {code.ToString(CultureInfo.InvariantCulture)}";
        }
        catch (InvalidOperationException)
        {
            return "exited";
        }
    }
}
