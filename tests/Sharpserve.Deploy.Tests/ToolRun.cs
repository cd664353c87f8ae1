using System.Diagnostics;

namespace Sharpserve.Deploy.Tests;

/// <summary>One run of an external tool (yamllint, Debian's python3), bounded by 60 s, with its output captured.</summary>
internal sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Debian's interpreter: python3-yaml and python3-jsonschema import there (.ci/run installs them).</summary>
    public const string Python = "/usr/bin/python3";

    public static async Task<ToolRun> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryFiles.Root,
        };
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"cannot run {fileName} ({ex.Message}); .ci/run installs it (apt-get install yamllint python3-yaml python3-jsonschema)", ex);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{fileName} did not finish within 60 s");
            }

            return new ToolRun(process.ExitCode, await stdout, await stderr);
        }
    }

    /// <summary>tests/Sharpserve.Deploy.Tests/manifests.py with <paramref name="arguments"/>, which must succeed.</summary>
    public static async Task<string> ManifestsAsync(params string[] arguments)
    {
        ToolRun run = await RunAsync(Python, [RepositoryFiles.Path("tests", "Sharpserve.Deploy.Tests", "manifests.py"), .. arguments]);
        Assert.True(run.ExitCode == 0, $"manifests.py {string.Join(' ', arguments)} exited {run.ExitCode}: {run.Stderr}");
        return run.Stdout;
    }
}
