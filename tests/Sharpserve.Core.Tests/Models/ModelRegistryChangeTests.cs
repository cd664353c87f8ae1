using Sharpserve.Core.Models;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Models;

/// <summary>The registry's changes through the repository API: add while loading, remove, and what readers then see.</summary>
public sealed class ModelRegistryChangeTests
{
    private static ServedModel Served(string name, string version = "1") =>
        new(new FakeModel(name), new SchedulerOptions(), threads: 1) { Version = version };

    [Fact]
    public async Task AddLoading_IsFound_ButDoesNotCountForReadiness_UntilLoaded()
    {
        ServedModel a = Served("a");
        await using var registry = new ModelRegistry([a]);
        registry.Start();
        await a.Executor.WarmedUp;
        a.MarkReady();
        ServedModel b = Served("b", "2");

        registry.AddLoading([b]);

        Assert.True(registry.TryGet("b", "2", out ServedModel found));
        Assert.Same(b, found);
        Assert.True(registry.IsLoading(b));
        Assert.False(b.IsReady);
        Assert.True(registry.IsReady); // a loading model does not take the server out of rotation
        registry.MarkLoaded([b]);
        Assert.False(registry.IsLoading(b));
        Assert.False(registry.IsReady); // loaded but never made ready: it counts now
    }

    [Fact]
    public async Task Remove_TakesEveryVersionOfTheName_AndTheDefaultMovesToTheNextNameGiven()
    {
        ServedModel a1 = Served("a", "1");
        ServedModel a2 = Served("a", "2");
        ServedModel b = Served("b");
        await using var registry = new ModelRegistry([a1, a2, b]);

        IReadOnlyList<ServedModel> removed = registry.Remove("a");

        Assert.Equal([a1, a2], removed);
        Assert.False(registry.TryGet("a", out _));
        Assert.Empty(registry.Versions("a"));
        Assert.Equal([b], registry.All);
        Assert.Same(b, registry.Default);
        Assert.Empty(registry.Remove("a"));

        // Loaded again, the first name given is the default again.
        ServedModel again = Served("a", "3");
        registry.AddLoading([again]);
        Assert.Same(again, registry.Default);
        foreach (ServedModel model in removed)
        {
            await model.DisposeAsync();
        }
    }

    [Fact]
    public async Task Remove_OfTheLastModel_LeavesNoDefault()
    {
        ServedModel a = Served("a");
        await using var registry = new ModelRegistry([a]);

        registry.Remove("a");

        Assert.False(registry.TryGetDefault(out _));
        Assert.Throws<InvalidOperationException>(() => registry.Default);
        Assert.True(registry.IsReady);
        await a.DisposeAsync();
    }

    [Fact]
    public async Task AddLoading_OfAServedVersion_IsRefused()
    {
        await using var registry = new ModelRegistry([Served("a")]);
        ServedModel duplicate = Served("a");

        Assert.Throws<ArgumentException>(() => registry.AddLoading([duplicate]));
        Assert.Single(registry.All);
        await duplicate.DisposeAsync();
    }
}
