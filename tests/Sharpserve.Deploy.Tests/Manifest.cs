using System.Text.Json;

namespace Sharpserve.Deploy.Tests;

/// <summary>The YAML documents of one manifest file, read by python3-yaml (manifests.py documents) into JSON.</summary>
internal static class Manifest
{
    public static async Task<JsonElement[]> LoadAsync(string path)
    {
        using JsonDocument documents = JsonDocument.Parse(await ToolRun.ManifestsAsync("documents", path));
        return [.. documents.RootElement.EnumerateArray().Select(static d => d.Clone())];
    }

    /// <summary>The one document of <paramref name="path"/>, which must be of <paramref name="kind"/>.</summary>
    public static async Task<JsonElement> LoadOneAsync(string path, string kind)
    {
        JsonElement document = Assert.Single(await LoadAsync(path));
        Assert.Equal(kind, document.GetProperty("kind").GetString());
        return document;
    }

    /// <summary>The strings of a JSON array.</summary>
    public static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(static e => e.GetString()!)];

    /// <summary>A property path such as "spec.containers", read through objects.</summary>
    public static JsonElement At(JsonElement element, string path)
    {
        foreach (string name in path.Split('.'))
        {
            Assert.True(element.TryGetProperty(name, out element), $"no '{name}' in {path}");
        }

        return element;
    }
}
