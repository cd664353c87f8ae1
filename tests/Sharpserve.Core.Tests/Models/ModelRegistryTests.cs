using Sharpserve.Core.Models;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Models;

public sealed class ModelRegistryTests
{
    private static ServedModel Served(string name, string version = "1") =>
        new(new FakeModel(name), new SchedulerOptions(), threads: 1) { Version = version };

    /// <summary>A started registry: disposing stops executors, which waits for their threads to have run.</summary>
    private static ModelRegistry Started(params ServedModel[] models)
    {
        var registry = new ModelRegistry(models);
        registry.Start();
        return registry;
    }

    [Fact]
    public async Task TryGet_ByName_FindsTheHighestVersion_ByNumberNotText()
    {
        await using ModelRegistry registry = Started([Served("a", "9"), Served("a", "10"), Served("a", "2"), Served("b")]);

        Assert.True(registry.TryGet("a", out ServedModel latest));
        Assert.Equal("10", latest.Version);
        Assert.True(registry.TryGet("b", out ServedModel b));
        Assert.Equal("1", b.Version);
        Assert.False(registry.TryGet("c", out _));
    }

    [Fact]
    public async Task TryGet_ByNameAndVersion_IsExact()
    {
        await using ModelRegistry registry = Started([Served("a", "1"), Served("a", "2")]);

        Assert.True(registry.TryGet("a", "1", out ServedModel one));
        Assert.Equal("1", one.Version);
        Assert.False(registry.TryGet("a", "3", out _));
        Assert.False(registry.TryGet("a", "01", out _));
        Assert.False(registry.TryGet("b", "1", out _));
    }

    [Fact]
    public async Task Versions_AreAscending_AndEmptyForAnUnknownName()
    {
        await using ModelRegistry registry = Started([Served("a", "10"), Served("a", "1"), Served("a", "2")]);

        Assert.Equal(["1", "2", "10"], registry.Versions("a").Select(m => m.Version));
        Assert.Empty(registry.Versions("b"));
        Assert.Equal(3, registry.All.Count);
    }

    [Fact]
    public async Task Default_IsTheHighestVersionOfTheFirstModelGiven()
    {
        await using ModelRegistry registry = Started([Served("b", "1"), Served("a", "1"), Served("b", "3")]);

        Assert.Equal(("b", "3"), (registry.Default.Name, registry.Default.Version));
    }

    [Fact]
    public async Task Constructor_RefusesTheSameNameAndVersionTwice()
    {
        await using ServedModel first = Served("a", "1");
        await using ServedModel second = Served("a", "1");
        first.Start();
        second.Start();

        ArgumentException error = Assert.Throws<ArgumentException>(() => new ModelRegistry([first, second]));

        Assert.Contains("model 'a' version '1' is given twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IsReady_OnlyWhenEveryVersionIsReady()
    {
        await using ModelRegistry registry = Started([Served("a", "1"), Served("a", "2")]);
        foreach (ServedModel model in registry.All)
        {
            await model.Executor.WarmedUp;
        }

        registry.All[0].MarkReady();
        Assert.False(registry.IsReady);

        registry.All[1].MarkReady();
        Assert.True(registry.IsReady);
    }

    [Theory]
    [InlineData("1", "2", -1)]
    [InlineData("9", "10", -1)]
    [InlineData("10", "10", 0)]
    [InlineData("100", "99", 1)]
    [InlineData("123456789012345678901234567890", "99", 1)]
    [InlineData("5", "beta", -1)]
    [InlineData("alpha", "beta", -1)]
    public void CompareVersions_IsNumericForNumbers(string a, string b, int sign)
    {
        Assert.Equal(sign, Math.Sign(ModelRegistry.CompareVersions(a, b)));
        Assert.Equal(-sign, Math.Sign(ModelRegistry.CompareVersions(b, a)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1/2")]
    public void Version_MustBeNonEmptyWithoutSlash(string version)
    {
        Assert.Throws<ArgumentException>(() => Served("a", version));
    }
}
