using System.Net;
using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests.Listening;

/// <summary>
/// Real servers bound to wildcard, specific and Unix-socket addresses, in thread and process mode, reached as clients
/// reach them: warm-up never dials the bound address itself, so a wildcard bind turns ready.
/// </summary>
public sealed partial class ListenTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WildcardIPv4_TurnsReady_AndAnswersOnLoopback(bool processMode)
    {
        await using Served served = await Served.StartAsync(processMode, ListenAddress.Tcp(IPAddress.Any, 0));
        ListenAddress bound = Assert.Single(served.Server.ListenAddresses);

        Assert.Equal(IPAddress.Any, bound.Address);
        Assert.NotEqual(0, bound.Port);
        using HttpClient client = Clients.Tcp(IPAddress.Loopback, bound.Port);
        Assert.True(await Clients.IsReadyAsync(client));
        Assert.Equal("__label__fr", await Clients.ClassifyAsync(client, "Bonjour, je voudrais un café"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WildcardIPv6_IsDualStack_AnswersOnBothLoopbacks(bool processMode)
    {
        if (!Clients.HasIPv6Loopback)
        {
            // No IPv6 here: binding :: must fail with one clear line, not hang in warm-up.
            var error = await Assert.ThrowsAsync<ListenException>(() => Served.StartAsync(processMode, ListenAddress.Tcp(IPAddress.IPv6Any, 0)));
            Assert.Contains("no IPv6", error.Message, StringComparison.Ordinal);
            return;
        }

        await using Served served = await Served.StartAsync(processMode, ListenAddress.Tcp(IPAddress.IPv6Any, 0));
        int port = Assert.Single(served.Server.ListenAddresses).Port;

        using HttpClient v6 = Clients.Tcp(IPAddress.IPv6Loopback, port);
        using HttpClient v4 = Clients.Tcp(IPAddress.Loopback, port);
        Assert.Equal("__label__de", await Clients.ClassifyAsync(v6, "Guten Morgen, wie geht es dir?"));
        Assert.Equal("__label__de", await Clients.ClassifyAsync(v4, "Guten Morgen, wie geht es dir?"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task UnixSocket_IsMode0660_Answers_AndIsRemovedOnStop(bool processMode)
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-uds-").FullName;
        string path = Path.Combine(directory, "sharpserve.sock");
        try
        {
            Served served = await Served.StartAsync(processMode, ListenAddress.Unix(path));
            try
            {
                Assert.Equal("http://localhost/", served.Server.Address.ToString());
                Assert.Equal(
                    UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
                    File.GetUnixFileMode(path));
                using HttpClient client = Clients.Unix(path);
                Assert.True(await Clients.IsReadyAsync(client));
                Assert.Equal("__label__it", await Clients.ClassifyAsync(client, "Buongiorno, vorrei un caffè"));
            }
            finally
            {
                await served.DisposeAsync();
            }

            Assert.False(File.Exists(path), "the socket file outlived the server");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task StaleUnixSocket_IsReplaced_ButALiveOneIsRefused()
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-uds-").FullName;
        string path = Path.Combine(directory, "s.sock");
        try
        {
            // A socket file nobody listens on, as a SIGKILLed server leaves behind (.NET unlinks its own on dispose).
            Assert.Equal(0, MakeSocketNode(path, 0xC000 | 0x180, 0)); // S_IFSOCK | 0600
            Assert.True(File.Exists(path));
            await using Served first = await Served.StartAsync(processMode: false, ListenAddress.Unix(path));
            using HttpClient client = Clients.Unix(path);
            Assert.True(await Clients.IsReadyAsync(client));

            var error = await Assert.ThrowsAsync<ListenException>(() => Served.StartAsync(processMode: false, ListenAddress.Unix(path)));
            Assert.Equal($"cannot listen on unix:{path}: another process is listening on it", error.Message);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task SeveralBinds_AllAnswer(bool processMode)
    {
        string directory = Directory.CreateTempSubdirectory("sharpserve-uds-").FullName;
        string path = Path.Combine(directory, "s.sock");
        try
        {
            await using Served served = await Served.StartAsync(
                processMode, ListenAddress.Tcp(IPAddress.Loopback, 0), ListenAddress.Unix(path), ListenAddress.Tcp(IPAddress.Any, 0));
            IReadOnlyList<ListenAddress> bound = served.Server.ListenAddresses;

            Assert.Equal(3, bound.Count);
            Assert.NotEqual(bound[0].Port, bound[2].Port);
            using HttpClient first = Clients.Tcp(IPAddress.Loopback, bound[0].Port);
            using HttpClient unix = Clients.Unix(path);
            using HttpClient third = Clients.Tcp(IPAddress.Loopback, bound[2].Port);
            foreach (HttpClient client in new[] { first, unix, third })
            {
                Assert.Equal("__label__fr", await Clients.ClassifyAsync(client, "Bonjour, je voudrais un café"));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task PortInUse_IsOneClearError_AndStartsNoWorker()
    {
        await using Served holder = await Served.StartAsync(processMode: false, ListenAddress.Tcp(IPAddress.Loopback, 0));
        int port = holder.Server.ListenAddresses[0].Port;

        var error = await Assert.ThrowsAsync<ListenException>(() => Served.StartAsync(processMode: true, ListenAddress.Tcp(IPAddress.Loopback, port)));

        Assert.Equal(
            $"cannot listen on http://127.0.0.1:{port}: the port is already in use (another server runs there; pick another with --port or --bind)",
            error.Message);
    }

    [Fact]
    public async Task AddressNotOfThisMachine_IsOneClearError()
    {
        // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an interface address.
        var error = await Assert.ThrowsAsync<ListenException>(() => Served.StartAsync(processMode: false, ListenAddress.Tcp(IPAddress.Parse("192.0.2.1"), 0)));

        Assert.StartsWith("cannot listen on http://192.0.2.1:0: 192.0.2.1 is not an address of this machine", error.Message, StringComparison.Ordinal);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mknod", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int MakeSocketNode(string path, uint mode, ulong device);

    /// <summary>A server on the demo model, thread mode or two worker processes, on the given addresses.</summary>
    private sealed class Served : IAsyncDisposable
    {
        private readonly ProcessModeServer? _processMode;
        private readonly TestServer? _threadMode;

        private Served(ProcessModeServer? processMode, TestServer? threadMode)
        {
            _processMode = processMode;
            _threadMode = threadMode;
        }

        public SharpserveServer Server => _processMode?.Server ?? _threadMode!.Server;

        public static async Task<Served> StartAsync(bool processMode, params ListenAddress[] listen)
        {
            if (processMode)
            {
                return new Served(await ProcessModeServer.StartAsync(configureServer: o => o with { Listen = listen }), null);
            }

            FastTextModel model = FastTextModel.Open(TestServer.DemoModelPath, "langid");
            try
            {
                return new Served(null, await TestServer.StartAsync(model, TestServer.Options() with { Listen = listen }));
            }
            catch (ListenException)
            {
                model.Dispose();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (_processMode is not null)
            {
                await _processMode.DisposeAsync();
            }
            else
            {
                await _threadMode!.DisposeAsync();
            }
        }
    }
}
