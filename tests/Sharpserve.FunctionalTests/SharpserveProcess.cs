using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Sharpserve.FunctionalTests;

/// <summary>The real <c>sharpserve</c> executable started as a child process; stopped by its PID only.</summary>
internal sealed partial class SharpserveProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string[]> _addresses = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SharpserveProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public string StandardOutput
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "sharpserve.dll");

    /// <summary>Runs sharpserve to completion (bounded by 60 s) with optional standard input.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(
        string arguments, byte[]? stdin = null, string? cacheDir = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        using SharpserveProcess process = Start(arguments, cacheDir, redirectInput: stdin is not null, environment);
        if (stdin is not null)
        {
            await process._process.StandardInput.BaseStream.WriteAsync(stdin);
            process._process.StandardInput.Close();
        }

        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.StandardOutput, process.StandardError);
    }

    public static SharpserveProcess Start(
        string arguments, string? cacheDir = null, bool redirectInput = false, IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null)
    {
        // A test that asks for injected faults (SHARPSERVE_TEST_FAULTS=1) runs the fault host, sharpserve with a
        // fault-injecting worker (tests/Sharpserve.FaultHost); sharpserve itself has none.
        bool faulty = environment is not null && environment.TryGetValue("SHARPSERVE_TEST_FAULTS", out string? faults) && faults == "1";
        var info = new ProcessStartInfo("dotnet", $"\"{(faulty ? Testing.WorkerFaults.HostPath : ExecutablePath)}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        if (cacheDir is not null)
        {
            info.Environment["SHARPSERVE_CACHE_DIR"] = cacheDir;
        }

        // gRPC on a free port, never 8001: tests that give the HTTP port run in parallel. A test of the gRPC port's
        // own default sets the variable to "" (unset) in its environment.
        info.Environment["SHARPSERVE_GRPC_PORT"] = "0";

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info };
        var wrapper = new SharpserveProcess(process);
        process.OutputDataReceived += (_, e) => wrapper.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => wrapper.OnError(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return wrapper;
    }

    /// <summary>Every address of the "Listening on A, B, C, model ..." log line, as written (http://0.0.0.0:N, unix:/p).</summary>
    public async Task<string[]> WaitForListeningAsync()
    {
        await WaitForAddressAsync();
        return await _addresses.Task;
    }

    /// <summary>
    /// Where a client reaches the first listener of the "Listening on ..." log line: a wildcard address is dialled
    /// through the loopback of its family.
    /// </summary>
    public async Task<Uri> WaitForAddressAsync()
    {
        Task exited = _process.WaitForExitAsync();
        Task winner = await Task.WhenAny(_address.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(winner == _address.Task, $"sharpserve did not report its address. stdout: {StandardOutput} stderr: {StandardError}");
        return await _address.Task;
    }

    /// <summary>Polls /v2/health/ready until 200 (the server gets there by itself); fails after 30 s.</summary>
    public static async Task WaitForReadyAsync(HttpClient client)
    {
        for (int i = 0; i < 600; i++)
        {
            using HttpResponseMessage ready = await client.GetAsync(new Uri("/v2/health/ready", UriKind.Relative));
            if (ready.StatusCode == System.Net.HttpStatusCode.OK)
            {
                return;
            }

            await Task.Delay(50);
        }

        Assert.Fail("the server did not become ready within 30 s");
    }

    /// <summary>Polls standard output until a line contains <paramref name="text"/> (the server logs it by itself); fails after 30 s.</summary>
    public async Task<string> WaitForOutputAsync(string text)
    {
        for (int i = 0; i < 600; i++)
        {
            foreach (string line in StandardOutput.Split('\n'))
            {
                if (line.Contains(text, StringComparison.Ordinal))
                {
                    return line;
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"not logged within 30 s: {text}. stdout: {StandardOutput} stderr: {StandardError}");
        return "";
    }

    public void SendSignal(int signal)
    {
        Assert.Equal(0, Kill(_process.Id, signal));
    }

    public async Task<int> WaitForExitAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            Assert.Fail($"sharpserve did not exit within {limit}. stdout: {StandardOutput} stderr: {StandardError}");
        }

        return _process.ExitCode;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stdout)
        {
            _stdout.AppendLine(line);
        }

        Match match = ListeningLine().Match(line);
        if (match.Success)
        {
            string[] addresses = match.Groups[1].Value.Split(", ");
            _addresses.TrySetResult(addresses);
            string first = Array.Find(addresses, a => a.StartsWith("http://", StringComparison.Ordinal)) ?? addresses[0];
            _address.TrySetResult(new Uri(first.Replace("http://0.0.0.0:", "http://127.0.0.1:", StringComparison.Ordinal)
                .Replace("http://[::]:", "http://[::1]:", StringComparison.Ordinal)));
        }
    }

    private void OnError(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
        }
    }

    /// <summary>Where a client reaches the gRPC service, from its "gRPC ... listening on ADDRESS, HTTP/2 only" log line.</summary>
    public async Task<Uri> WaitForGrpcAddressAsync()
    {
        string line = await WaitForOutputAsync(") listening on ");
        Match match = GrpcListeningLine().Match(line);
        Assert.True(match.Success, line);
        return new Uri(match.Groups[1].Value.Replace("http://0.0.0.0:", "http://127.0.0.1:", StringComparison.Ordinal)
            .Replace("http://[::]:", "http://[::1]:", StringComparison.Ordinal));
    }

    [GeneratedRegex(@"gRPC \(KServe v2, inference\.GRPCInferenceService\) listening on (\S+), HTTP/2 only")]
    private static partial Regex GrpcListeningLine();

    [GeneratedRegex(@"Listening on (.+?), model '")]
    private static partial Regex ListeningLine();

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
