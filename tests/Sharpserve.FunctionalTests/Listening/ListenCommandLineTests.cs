using System.Net;

namespace Sharpserve.FunctionalTests.Listening;

/// <summary>
/// The real executable bound as operators bind it (gunicorn's <c>-b</c> forms, <c>--host 0.0.0.0</c>), in thread and
/// process mode: it turns ready, answers through every address, says them all in its log, and removes its Unix
/// socket on SIGTERM. Mistakes are one line and exit 1.
/// </summary>
public sealed class ListenCommandLineTests : IDisposable
{
    private const int SigTerm = 15;
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-listen-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("")]
    [InlineData("--workers 2")]
    public async Task HostZero_TurnsReady_AndAnswersOnLoopback(string mode)
    {
        using SharpserveProcess process = SharpserveProcess.Start($"serve --host 0.0.0.0 --port 0 {mode}", _directory);
        string[] listening = await process.WaitForListeningAsync();
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);

        Assert.StartsWith("http://0.0.0.0:", Assert.Single(listening), StringComparison.Ordinal);
        Assert.Equal("__label__fr", await Clients.ClassifyAsync(client, "Bonjour, je voudrais un café"));
        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("Warm-up failed", process.StandardOutput, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-w 2")]
    public async Task GunicornBinds_AllAnswer_LogSaysEach_SocketRemovedOnSigterm(string mode)
    {
        string socket = Path.Combine(_directory, "s.sock");
        int port = Clients.FreePort();
        string v6 = Clients.HasIPv6Loopback ? $"-b [::]:{Clients.FreePort()}" : "";
        using SharpserveProcess process = SharpserveProcess.Start($"serve -b 127.0.0.1:{port} -b unix:{socket} {v6} {mode}", _directory);
        string[] listening = await process.WaitForListeningAsync();
        using HttpClient tcp = Clients.Tcp(IPAddress.Loopback, port);
        await SharpserveProcess.WaitForReadyAsync(tcp);
        using HttpClient unix = Clients.Unix(socket);

        Assert.Equal($"http://127.0.0.1:{port}", listening[0]);
        Assert.Equal($"unix:{socket}", listening[1]);
        Assert.Equal("__label__de", await Clients.ClassifyAsync(tcp, "Guten Morgen, wie geht es dir?"));
        Assert.Equal("__label__de", await Clients.ClassifyAsync(unix, "Guten Morgen, wie geht es dir?"));
        if (Clients.HasIPv6Loopback)
        {
            int v6Port = new Uri(listening[2]).Port;
            using HttpClient viaV6 = Clients.Tcp(IPAddress.IPv6Loopback, v6Port);
            using HttpClient viaV4 = Clients.Tcp(IPAddress.Loopback, v6Port);
            Assert.Equal("__label__de", await Clients.ClassifyAsync(viaV6, "Guten Morgen, wie geht es dir?"));
            Assert.Equal("__label__de", await Clients.ClassifyAsync(viaV4, "Guten Morgen, wie geht es dir?"));
        }

        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(File.Exists(socket), "the Unix socket outlived the server");
    }

    [Fact]
    public async Task ModelRepository_OnEveryAddress_TurnsReady()
    {
        string repository = Path.Combine(_directory, "models");
        Directory.CreateDirectory(Path.Combine(repository, "langid", "1"));
        File.Copy(TestServer.DemoModelPath, Path.Combine(repository, "langid", "1", "model.bin"));
        using SharpserveProcess process = SharpserveProcess.Start($"serve --model-repository \"{repository}\" -b :0", _directory);
        using var client = new HttpClient { BaseAddress = await process.WaitForAddressAsync() };
        await SharpserveProcess.WaitForReadyAsync(client);

        using HttpResponseMessage metadata = await client.GetAsync(new Uri("/v2/models/langid/versions/1", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        process.SendSignal(SigTerm);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("--workers 2")]
    public async Task PortInUse_IsOneLine_ExitOne(string mode)
    {
        using SharpserveProcess holder = SharpserveProcess.Start("serve --port 0", _directory);
        Uri address = await holder.WaitForAddressAsync();

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"serve --port {address.Port} {mode}", cacheDir: _directory);

        Assert.Equal(1, exitCode);
        Assert.Equal(
            $"sharpserve: error: cannot listen on http://127.0.0.1:{address.Port}: the port is already in use (another server runs there; pick another with --port or --bind)",
            stderr.Trim());
        Assert.DoesNotContain("Exception", stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve --host 10.9.9.9", "cannot listen on http://10.9.9.9:8000: 10.9.9.9 is not an address of this machine")]
    [InlineData("serve -b 192.0.2.1:80 -w 2", "cannot listen on http://192.0.2.1:80: 192.0.2.1 is not an address of this machine")]
    [InlineData("serve -b unix:/no/such/dir/s.sock", "cannot listen on unix:/no/such/dir/s.sock: the directory /no/such/dir does not exist")]
    public async Task AddressThatCannotBeBound_IsOneLine_ExitOne(string arguments, string message)
    {
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _directory);

        Assert.Equal(1, exitCode);
        string line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith($"sharpserve: error: {message}", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", stdout + stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve --host 0.0.0.0 -b :80", "give -b or --host, not both")]
    [InlineData("serve --port 81 --bind 127.0.0.1:80", "give --bind or --port, not both")]
    [InlineData("serve -b 8000", "--bind must have an IP address or 'localhost' as its host (for a port on every address write :PORT), got '8000'")]
    [InlineData("serve -b 127.0.0.1:99999", "--bind has no valid port")]
    [InlineData("serve -b unix:", "--bind names no socket path")]
    [InlineData("serve --host example.com", "--host must be an IP address")]
    [InlineData("serve -t 1s", "-t applies to process mode only; add --workers N")]
    [InlineData("serve -w 0", "--workers must be an integer from 1 to 256, got '0'")]
    public async Task BindUsageMistakes_AreOneLine_ExitTwo(string arguments, string message)
    {
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _directory);

        Assert.Equal(2, exitCode);
        string line = Assert.Single(stderr.Trim().Split('\n'));
        Assert.Contains(message, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BindFromEnvironment_IsAList_AndAFlagWins()
    {
        int envPort = Clients.FreePort();
        int flagPort = Clients.FreePort();
        var environment = new Dictionary<string, string> { ["SHARPSERVE_BIND"] = $"127.0.0.1:{envPort}, unix:{Path.Combine(_directory, "e.sock")}" };

        using (SharpserveProcess fromEnvironment = SharpserveProcess.Start("serve", _directory, environment: environment))
        {
            Assert.Equal([$"http://127.0.0.1:{envPort}", $"unix:{Path.Combine(_directory, "e.sock")}"], await fromEnvironment.WaitForListeningAsync());
        }

        using SharpserveProcess flagWins = SharpserveProcess.Start($"serve -b 127.0.0.1:{flagPort}", _directory, environment: environment);
        Assert.Equal([$"http://127.0.0.1:{flagPort}"], await flagWins.WaitForListeningAsync());
    }
}
