namespace Sharpserve.FunctionalTests;

/// <summary>
/// <c>sharpserve serve ...</c> as a real child process, ready, with a client pointed at it. Disposing sends SIGTERM
/// and expects exit code 0 (bounded); the process is stopped by its PID only.
/// </summary>
internal sealed class ServedProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private bool _stopped;

    private ServedProcess(SharpserveProcess process, HttpClient client)
    {
        Process = process;
        Client = client;
    }

    public SharpserveProcess Process { get; }

    public HttpClient Client { get; }

    /// <summary>Starts <c>serve ARGUMENTS</c> and waits (bounded) until /v2/health/ready answers 200.</summary>
    public static async Task<ServedProcess> StartAsync(string arguments, string cacheDir, IReadOnlyDictionary<string, string>? environment = null)
    {
        SharpserveProcess process = SharpserveProcess.Start("serve " + arguments, cacheDir, environment: environment);
        try
        {
            var client = new HttpClient { BaseAddress = await process.WaitForAddressAsync(), Timeout = TimeSpan.FromSeconds(60) };
            await SharpserveProcess.WaitForReadyAsync(client);
            return new ServedProcess(process, client);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>SIGTERM, then the exit code (bounded wait).</summary>
    public async Task<int> StopAsync()
    {
        _stopped = true;
        Process.SendSignal(SigTerm);
        return await Process.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Stops the server unless the test did (<see cref="StopAsync"/>), expecting exit code 0.</summary>
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        try
        {
            if (!_stopped)
            {
                Assert.Equal(0, await StopAsync());
            }
        }
        finally
        {
            Process.Dispose();
        }
    }
}
