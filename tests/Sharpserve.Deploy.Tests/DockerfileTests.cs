namespace Sharpserve.Deploy.Tests;

/// <summary>deploy/Dockerfile, linted offline by <see cref="DockerfileLint"/>, and the lint itself on broken recipes.</summary>
public sealed class DockerfileTests
{
    private static string Recipe() => File.ReadAllText(RepositoryFiles.Path("deploy", "Dockerfile"));

    private static DockerfileLint.Stage StageNamed(string name) =>
        Assert.Single(DockerfileLint.Stages(DockerfileLint.Parse(Recipe())), s => s.Name == name);

    [Fact]
    public void TheRecipe_PassesTheLint()
    {
        List<string> problems = DockerfileLint.Check(Recipe());

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void TheSdkBuilds_TheChiseledImageServes_AndPythonIsAStageOfItsOwn()
    {
        List<DockerfileLint.Stage> stages = DockerfileLint.Stages(DockerfileLint.Parse(Recipe()));

        Assert.Equal(["build", "python", "runtime"], stages.Select(s => s.Name));
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0-noble", stages[0].Image);
        Assert.Contains(stages[0].Instructions, i => i.Keyword == "RUN" && i.Arguments.StartsWith("dotnet publish src/Sharpserve/Sharpserve.csproj -c Release", StringComparison.Ordinal));
        Assert.Contains(StageNamed("python").Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("install -y --no-install-recommends python3 ", StringComparison.Ordinal));
        Assert.Equal(DockerfileLint.RuntimeImage, stages[^1].Image);
    }

    [Theory]
    [InlineData("python")]
    [InlineData("runtime")]
    public async Task TheImagesDefaultCommand_IsTheRuntimesArguments_ServingTheWholeRepository(string stage)
    {
        DockerfileLint.Stage image = StageNamed(stage);
        RuntimeArguments runtime = await RuntimeArguments.OfRuntimeAsync();

        Assert.Equal(["dotnet", "/app/sharpserve.dll"], DockerfileLint.ExecForm(image.Instructions.Last(i => i.Keyword == "ENTRYPOINT").Arguments) ?? []);
        Assert.Equal(runtime.WithoutName, DockerfileLint.ExecForm(image.Instructions.Last(i => i.Keyword == "CMD").Arguments) ?? []);
        Assert.Equal("$APP_UID", image.Instructions.Last(i => i.Keyword == "USER").Arguments);
    }

    [Theory]
    [InlineData("aspnet:10.0-noble-chiseled AS runtime", "aspnet:latest AS runtime", "FROM mcr.microsoft.com/dotnet/aspnet:latest: not one of the pinned images")]
    [InlineData("ENTRYPOINT [\"dotnet\", \"/app/sharpserve.dll\"]", "ENTRYPOINT dotnet /app/sharpserve.dll", "ENTRYPOINT must be in exec form")]
    [InlineData("USER $APP_UID\nEXPOSE", "USER 0\nEXPOSE", "USER 0: not a numeric non-root user")]
    [InlineData("USER $APP_UID\nEXPOSE", "USER app\nEXPOSE", "USER app: not a numeric non-root user")]
    [InlineData("COPY src/ src/", "ADD https://example.com/src.tar.gz src/", "ADD; use COPY")]
    [InlineData("AS runtime\nWORKDIR /app", "AS runtime\nRUN echo hi\nWORKDIR /app", "RUN in the chiseled stage, which has no shell")]
    [InlineData("COPY --from=build /app /app\nUSER", "COPY --from=builder /app /app\nUSER", "COPY --from=builder names no earlier stage")]
    [InlineData("CMD [\"serve\"", "CMD serve [\"serve\"", "CMD must be in exec form")]
    public void TheLint_CatchesEachBrokenRule(string text, string broken, string problem)
    {
        string recipe = Recipe();
        Assert.Contains(text, recipe, StringComparison.Ordinal);

        List<string> problems = DockerfileLint.Check(ReplaceFirst(recipe, text, broken));

        Assert.Contains(problems, p => p.Contains(problem, StringComparison.Ordinal));
    }

    [Fact]
    public void TheLint_ReadsContinuationsAndComments_AsBuildKitDoes()
    {
        List<DockerfileLint.Instruction> instructions = DockerfileLint.Parse("# comment\nFROM a AS b\nRUN one \\\n    # inside\n    two\nUSER 1654\n");

        Assert.Equal(["FROM", "RUN", "USER"], instructions.Select(i => i.Keyword));
        Assert.Equal("one      two", instructions[1].Arguments);
        Assert.Equal(3, instructions[1].Line);
    }

    private static string ReplaceFirst(string text, string old, string replacement)
    {
        int at = text.IndexOf(old, StringComparison.Ordinal);
        return text[..at] + replacement + text[(at + old.Length)..];
    }
}
