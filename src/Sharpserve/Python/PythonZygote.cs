using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Supervision;

namespace Sharpserve.Python;

/// <summary>
/// One Python zygote (docs/python-backend.md): started as the front's child, it imports and loads the user's model,
/// warms up and freezes it, then forks workers when asked. This type speaks the control protocol over the zygote's
/// standard input and output, relays its standard error to the log, and holds the workers it forked.
/// </summary>
internal sealed class PythonZygote
{
    private static readonly TimeSpan s_forkTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_exitGrace = TimeSpan.FromSeconds(10);

    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly Lock _writeLock = new();
    private readonly Queue<PendingFork> _forks = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<string>> _statuses = new();
    private readonly TaskCompletionSource<ZygoteEvent> _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _exitSent;
    private volatile string? _failure;
    private int _exitHandled;

    private PythonZygote(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
        Pid = process.Id;
    }

    public int Pid { get; }

    /// <summary>Completes with the <c>loaded</c> event; faults with a <see cref="ModelLoadException"/> saying why it could not load.</summary>
    public Task<ZygoteEvent> Loaded => _loaded.Task;

    /// <summary>Completes when the process has exited, with how.</summary>
    public Task<string> Exited => _exited.Task;

    /// <summary>Loaded and not exited: it can fork.</summary>
    public bool IsServing => _loaded.Task.IsCompletedSuccessfully && !_exited.Task.IsCompleted;

    /// <summary>When the zygote process started, for /status.</summary>
    public DateTime StartTime { get; private set; }

    /// <summary>Starts the zygote for <paramref name="entry"/>; its load goes on in the background (<see cref="Loaded"/>).</summary>
    /// <exception cref="ModelLoadException">The interpreter cannot be started.</exception>
    public static PythonZygote Start(PythonEntry entry, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var info = new ProcessStartInfo(entry.Executable)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        foreach (string argument in (string[])["-m", "sharpserve.zygote", "--entry", entry.Entry, "--name", entry.Name])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (string path in entry.Paths.Append(Environment.CurrentDirectory))
        {
            info.ArgumentList.Add("--path");
            info.ArgumentList.Add(Path.GetFullPath(path));
        }

        PythonEnvironment.Apply(info.Environment);
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new ModelLoadException($"could not start the Python interpreter '{entry.Executable}'");
        }
        catch (Win32Exception e)
        {
            throw new ModelLoadException($"cannot run the Python interpreter '{entry.Executable}' (--python-exe): {e.Message}", e);
        }

        var zygote = new PythonZygote(process, logger) { StartTime = DateTime.UtcNow };
        zygote.Begin();
        return zygote;
    }

    /// <summary>
    /// Forks worker <paramref name="id"/>, to connect to <paramref name="socketPath"/>; waits for the zygote's answer
    /// (a fork takes milliseconds), at most 10 s. A worker that could not be forked is a handle that has exited.
    /// </summary>
    public IWorkerHandle Fork(int id, string socketPath)
    {
        var pending = new PendingFork(id);
        lock (_forks)
        {
            if (!IsServing)
            {
                return ForkedWorker.NotForked(_exited.Task.IsCompleted ? "could not be forked: its zygote has exited" : "could not be forked: its zygote is not loaded");
            }

            _forks.Enqueue(pending);
            Send(new ZygoteCommand { Command = "fork", Id = id, Socket = socketPath });
        }

        if (!pending.Answer.Task.Wait(s_forkTimeout))
        {
            pending.Abandoned = true; // a late `forked` kills the worker
            return ForkedWorker.NotForked($"could not be forked: its zygote did not answer within {s_forkTimeout.TotalSeconds:0} s");
        }

        ZygoteEvent answer = pending.Answer.Task.Result;
        if (answer.Event == "fork_refused" || answer.Pid is not int pid)
        {
            return ForkedWorker.NotForked($"could not be forked: {answer.Error ?? "the zygote refused"}");
        }

        return ForkedWorker.Watch(pid, Pid, _statuses.GetOrAdd(pid, NewStatus).Task);
    }

    /// <summary>Tells the zygote to exit (its workers are left alone), gives it 10 s, then kills it.</summary>
    public async Task StopAsync()
    {
        _exitSent = true;
        try
        {
            Send(new ZygoteCommand { Command = "exit" });
            _process.StandardInput.Close();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already gone.
        }

        try
        {
            await _exited.Task.WaitAsync(s_exitGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Kill();
            await _exited.Task.ConfigureAwait(false);
        }
    }

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

    private static TaskCompletionSource<string> NewStatus(int pid) => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private void Begin()
    {
        _process.EnableRaisingEvents = true;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                PythonLog.Output(_logger, Pid, e.Data);
            }
        };
        _process.BeginErrorReadLine();
        Task reading = Task.Run(ReadEventsAsync);
        // The exit is the process's own (SIGCHLD), not the end of its pipes: its forked workers inherit the standard
        // error it logs to, so that pipe stays open as long as any of them lives.
        _process.Exited += (_, _) => _ = OnExitedAsync(reading);
        if (_process.HasExited)
        {
            _ = OnExitedAsync(reading);
        }
    }

    private async Task ReadEventsAsync()
    {
        try
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                if (Handle(Parse(line)) is { } failure)
                {
                    _failure = failure;
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The pipe broke: the process is gone.
        }
        catch (ZygoteProtocolException e)
        {
            _failure = $"broke the control protocol: {e.Message}";
            Kill();
        }
    }

    private async Task OnExitedAsync(Task reading)
    {
        if (Interlocked.Exchange(ref _exitHandled, 1) != 0)
        {
            return;
        }

        // What it wrote before it exited (a `failed` line) says more than its exit status: read it first, briefly.
        await Task.WhenAny(reading, Task.Delay(TimeSpan.FromSeconds(2))).ConfigureAwait(false);
        string exit = SpawnedWorker.Describe(_process);
        string? failure = _failure;
        string reason = failure ?? (_loaded.Task.IsCompleted
            ? $"the zygote {exit}"
            : $"the Python zygote {exit} before the model was loaded (its log above says why)");
        _loaded.TrySetException(new ModelLoadException(reason));
        lock (_forks)
        {
            while (_forks.TryDequeue(out PendingFork? pending))
            {
                pending.Answer.TrySetResult(new ZygoteEvent { Event = "fork_refused", Error = "its zygote exited" });
            }
        }

        _exited.TrySetResult(failure ?? exit);
    }

    /// <summary>Acts on one event; returns why the zygote failed when the event says so.</summary>
    private string? Handle(ZygoteEvent message)
    {
        switch (message.Event)
        {
            case "hello":
                if (message.Version != 1)
                {
                    throw new ZygoteProtocolException($"it speaks control protocol version {message.Version}, the front 1");
                }

                return null;
            case "loaded":
                if (message.Metadata is null)
                {
                    throw new ZygoteProtocolException("`loaded` has no metadata");
                }

                _loaded.TrySetResult(message);
                return null;
            case "failed":
                string error = message.Error ?? "the model could not be loaded";
                if (!string.IsNullOrEmpty(message.Traceback))
                {
                    PythonLog.Traceback(_logger, Pid, message.Traceback);
                }

                _loaded.TrySetException(new ModelLoadException(error));
                return error;
            case "forked" or "fork_refused":
                PendingFork? pending;
                lock (_forks)
                {
                    if (!_forks.TryDequeue(out pending) || pending.Id != message.Id)
                    {
                        throw new ZygoteProtocolException($"`{message.Event}` for worker {message.Id}, which was not the next fork asked");
                    }
                }

                if (pending.Abandoned && message.Pid is int late)
                {
                    ForkedWorker.Watch(late, Pid, _statuses.GetOrAdd(late, NewStatus).Task).Kill();
                }

                pending.Answer.TrySetResult(message);
                return null;
            case "exited":
                if (message.Pid is int pid)
                {
                    _statuses.GetOrAdd(pid, NewStatus).TrySetResult(message.Status ?? "exited");
                    _statuses.TryRemove(pid, out _);
                }

                return null;
            default:
                throw new ZygoteProtocolException($"unknown event '{message.Event}'");
        }
    }

    private static ZygoteEvent Parse(string line)
    {
        try
        {
            return JsonSerializer.Deserialize(line, ZygoteJsonContext.Default.ZygoteEvent)
                ?? throw new ZygoteProtocolException("a line is JSON null, not an object");
        }
        catch (JsonException e)
        {
            throw new ZygoteProtocolException($"a line is not a JSON object ({e.Message})");
        }
    }

    private void Send(ZygoteCommand command)
    {
        string line = JsonSerializer.Serialize(command, ZygoteJsonContext.Default.ZygoteCommand);
        lock (_writeLock)
        {
            try
            {
                _process.StandardInput.Write(line);
                _process.StandardInput.Write('\n');
                _process.StandardInput.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
                if (!_exitSent)
                {
                    Kill(); // its input is gone: it is dying; the reader reports how
                }
            }
        }
    }

    private sealed class PendingFork(int id)
    {
        public int Id { get; } = id;

        public TaskCompletionSource<ZygoteEvent> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Abandoned;
    }
}
