namespace Sharpserve.Deploy.Tests;

/// <summary>Every YAML file of the repository passes Debian's yamllint with the committed .yamllint.</summary>
public sealed class YamlLintTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-yamllint-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static Task<ToolRun> LintAsync(params string[] files) =>
        ToolRun.RunAsync("yamllint", ["--strict", "-f", "parsable", "-c", RepositoryFiles.Path(".yamllint"), .. files]);

    [Fact]
    public async Task EveryYamlFile_PassesYamllint()
    {
        string[] files = RepositoryFiles.YamlFiles();
        Assert.Contains(RepositoryFiles.Path("deploy", "kserve", "sharpserve-runtime.yaml"), files);
        Assert.Contains(RepositoryFiles.Path("deploy", "kubernetes", "kustomization.yaml"), files);

        ToolRun run = await LintAsync(files);

        Assert.True(run.ExitCode == 0, $"yamllint:\n{run.Stdout}{run.Stderr}");
    }

    [Fact]
    public async Task Yamllint_RefusesWhatTheConfigForbids()
    {
        // The check can fail: a long line, trailing spaces and a duplicated key, each reported.
        string file = Path.Combine(_temp, "bad.yaml");
        await File.WriteAllTextAsync(file, "---\nkey: " + new string('x', 130) + "\nother: 1   \nkey: 2\n");

        ToolRun run = await LintAsync(file);

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("(line-length)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("(trailing-spaces)", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("(key-duplicates)", run.Stdout, StringComparison.Ordinal);
    }
}
