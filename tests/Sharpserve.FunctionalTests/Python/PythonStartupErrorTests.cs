namespace Sharpserve.FunctionalTests.Python;

/// <summary>
/// Bad user code (docs/python-backend.md 6.3): one clear line on standard error and exit status 1, before the server
/// listens, with no process left behind.
/// </summary>
public sealed class PythonStartupErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sharpserve-python-bad-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    public static TheoryData<string, string, string> Cases => new()
    {
        { "nosuchmodule:Model", "class Model:\n    def predict(self, data):\n        return 'x'\n", "nosuchmodule" },
        { "model:Missing", "class Model:\n    def predict(self, data):\n        return 'x'\n", "Missing" },
        { "model:Model", "raise RuntimeError('import-time failure')\n", "import-time failure" },
        { "model:Model", "class Model:\n    def load(self):\n        raise ValueError('weights not found')\n    def predict(self, data):\n        return 'x'\n", "weights not found" },
        { "model:Model", "class Model:\n    def load(self):\n        pass\n", "predict" },
        {
            "model:Model",
            "import threading, time\nclass Model:\n    def load(self):\n        threading.Thread(target=time.sleep, args=(3600,), daemon=True, name='stray-pool').start()\n    def predict(self, data):\n        return 'x'\n",
            "stray-pool"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadCode_ExitsWithOneLineBeforeReady(string entry, string source, string named)
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "m"), source);
        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(
            $"serve --python {entry} --python-path \"{directory}\" --python-exe {PythonServer.Interpreter} --port 0 --workers 1");

        Assert.Equal(1, exitCode);
        string[] errors = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string line = Assert.Single(errors);
        Assert.StartsWith("sharpserve: error: --python " + entry, line, StringComparison.Ordinal);
        Assert.Contains(named, line, StringComparison.Ordinal);
        Assert.DoesNotContain("Listening on", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingInterpreter_IsOneLineNamingTheFlag()
    {
        string directory = PythonServer.WriteModel(Path.Combine(_directory, "m"), "class Model:\n    def predict(self, data):\n        return 'x'\n");
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(
            $"serve --python model:Model --python-path \"{directory}\" --python-exe /nonexistent/python3 --port 0");

        Assert.Equal(1, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("/nonexistent/python3", line, StringComparison.Ordinal);
        Assert.Contains("--python-exe", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("serve --python model", "MODULE:ATTR")]
    [InlineData("serve --python model:Model model.bin", "not both")]
    [InlineData("serve --python model:Model --worker-threads 2", "GIL")]
    [InlineData("serve --python-path /tmp", "--python MODULE:ATTR")]
    public async Task MisusedFlags_AreUsageErrors(string arguments, string named)
    {
        (int exitCode, _, string stderr) = await SharpserveProcess.RunAsync(arguments);
        Assert.Equal(2, exitCode);
        Assert.Contains(named, stderr, StringComparison.Ordinal);
    }
}
