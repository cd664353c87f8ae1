using System.Net;
using System.Text;
using Sharpserve.FunctionalTests.Listening;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Start-up mistakes found by trying the server as a new user would: each is one line on stderr, never a stack trace,
/// with exit code 2 for a wrong command line or environment and 1 for a failure acting on it, wherever the value
/// came from.
/// </summary>
public sealed class StartupErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-startup-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("serve --cache-dir \"\"", null, 2, "sharpserve: error: --cache-dir must not be empty, got ''")]
    [InlineData("status --url ftp://127.0.0.1:1", null, 2, "sharpserve: error: --url must be http://HOST:PORT or unix:PATH, got 'ftp://127.0.0.1:1'")]
    [InlineData("status --url http://127.0.0.1:1", null, 1, "sharpserve: error: cannot read http://127.0.0.1:1/status: Connection refused")]
    [InlineData("serve --port abc", null, 2, "sharpserve: error: --port must be an integer from 0 to 65535, got 'abc'")]
    [InlineData("serve", "SHARPSERVE_PORT=abc", 2, "sharpserve: error: SHARPSERVE_PORT must be an integer from 0 to 65535, got 'abc'")]
    [InlineData("serve", "SHARPSERVE_WORKERS=many", 2, "sharpserve: error: SHARPSERVE_WORKERS must be an integer from 1 to 256, got 'many'")]
    [InlineData("serve", "SHARPSERVE_BIND=example.com:80", 2, "sharpserve: error: SHARPSERVE_BIND must have an IP address")]
    [InlineData("serve", "SHARPSERVE_HOST=10.9.9.9", 1, "sharpserve: error: cannot listen on http://10.9.9.9:8000: 10.9.9.9 is not an address of this machine")]
    [InlineData("serve /tmp", null, 1, "sharpserve: error: '/tmp' is a directory; give a model file (e.g. model.bin), or serve a model repository with --model-repository /tmp")]
    [InlineData("serve /no/such/model.bin", null, 1, "sharpserve: error: model file '/no/such/model.bin' does not exist")]
    [InlineData("serve --access-log /no/such/dir/access.log --port 0", null, 1, "sharpserve: error: cannot open the access log '/no/such/dir/access.log'")]
    [InlineData("serve --access-log -", "SHARPSERVE_ACCESS_LOG_FORMAT=xml", 2, "sharpserve: error: SHARPSERVE_ACCESS_LOG_FORMAT must be combined or json, got 'xml'")]
    public async Task Mistake_IsOneLine_WithTheRightExitCode(string arguments, string? environment, int exitCode, string line)
    {
        var variables = new Dictionary<string, string>();
        if (environment is not null)
        {
            string[] pair = environment.Split('=', 2);
            variables[pair[0]] = pair[1];
        }

        (int code, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _directory, environment: variables);

        Assert.Equal(exitCode, code);
        string only = Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith(line, only, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", stdout + stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RepositoryConfigWithAByteOrderMark_IsRead()
    {
        string repository = Path.Combine(_directory, "models");
        Directory.CreateDirectory(Path.Combine(repository, "lang", "3"));
        File.Copy(TestServer.DemoModelPath, Path.Combine(repository, "lang", "3", "model.bin"));
        await File.WriteAllTextAsync(Path.Combine(repository, "lang", "config.json"), """{"backend": "fasttext"}""", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
        Assert.Equal(0xEF, File.ReadAllBytes(Path.Combine(repository, "lang", "config.json"))[0]);

        using SharpserveProcess process = SharpserveProcess.Start($"serve --model-repository \"{repository}\" --port 0", _directory);
        using var client = new HttpClient { BaseAddress = await process.WaitForAddressAsync() };
        await SharpserveProcess.WaitForReadyAsync(client);
        using HttpResponseMessage metadata = await client.GetAsync(new Uri("/v2/models/lang", UriKind.Relative));
        process.SendSignal(15);

        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        Assert.Contains("\"versions\":[\"3\"]", await metadata.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Status_ReadsAServerOnAUnixSocket()
    {
        string socket = Path.Combine(_directory, "s.sock");
        using SharpserveProcess process = SharpserveProcess.Start($"serve -b unix:{socket}", _directory);
        await process.WaitForListeningAsync();
        using HttpClient client = Clients.Unix(socket);
        await SharpserveProcess.WaitForReadyAsync(client);

        (int code, string stdout, string stderr) = await SharpserveProcess.RunAsync($"status --url unix:{socket}", cacheDir: _directory);
        process.SendSignal(15);

        Assert.True(code == 0, stderr);
        Assert.Contains("ready: True", stdout, StringComparison.Ordinal);
        Assert.Contains("model langid version 1: thread mode", stdout, StringComparison.Ordinal);
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("serve --help", "--bind")]
    [InlineData("predict --help", "--threshold")]
    [InlineData("prepare --help", "--output")]
    [InlineData("status --help", "--url")]
    [InlineData("--help", "serve")]
    public async Task Help_OfEveryCommand_IsPrinted_EvenWithoutItsRequiredArguments(string arguments, string mentions)
    {
        (int code, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: _directory);

        Assert.Equal(0, code);
        Assert.Equal("", stderr);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        Assert.Contains(mentions, stdout, StringComparison.Ordinal);

        // Defaults are said in each description's words ("default 30s"); System.CommandLine's own
        // "[default: 00:00:30]" is not a value anyone can type, and "[default: 0]" contradicted computed defaults.
        Assert.DoesNotContain("[default:", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("00:00:30", stdout, StringComparison.Ordinal);
    }
}
