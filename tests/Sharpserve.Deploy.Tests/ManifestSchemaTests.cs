using System.Text.Json;

namespace Sharpserve.Deploy.Tests;

/// <summary>
/// Every manifest of deploy/ validates against the vendored JSON schema of its kind (deploy/schemas/README.md):
/// Kubernetes v1.32.2 (strict) for the Deployment, Service and HPA, SchemaStore's for the kustomization, and KServe
/// v0.20.0's CRDs (made strict) for the ClusterServingRuntime and the InferenceServices.
/// </summary>
public sealed class ManifestSchemaTests : IDisposable
{
    private readonly string _temp = Directory.CreateTempSubdirectory("sharpserve-schemas-").FullName;

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    private static async Task<List<(string File, string? Kind, string? Schema, string[] Errors)>> ValidateAsync(params string[] files)
    {
        string output = await ToolRun.ManifestsAsync(["validate", .. files]);
        var results = new List<(string, string?, string?, string[])>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using JsonDocument result = JsonDocument.Parse(line);
            JsonElement root = result.RootElement;
            results.Add((root.GetProperty("file").GetString()!, root.GetProperty("kind").GetString(), root.GetProperty("schema").GetString(),
                Manifest.Strings(root.GetProperty("errors"))));
        }

        return results;
    }

    [Fact]
    public async Task EveryManifest_ValidatesAgainstTheSchemaOfItsKind()
    {
        var results = await ValidateAsync(RepositoryFiles.Manifests());

        Assert.All(results, r => Assert.True(r.Errors.Length == 0, $"{r.File} ({r.Kind}, {r.Schema}):\n{string.Join('\n', r.Errors)}"));
        string[] kinds = [.. results.Select(r => r.Kind!).Order(StringComparer.Ordinal)];
        Assert.Equal(
            ["ClusterServingRuntime", "Deployment", "HorizontalPodAutoscaler", "InferenceService", "InferenceService", "InferenceService", "Kustomization", "Service"],
            kinds);
    }

    [Theory]
    [InlineData("kserve/sharpserve-runtime.yaml", "readinessProbe:", "readinesProbe:", "readinesProbe")]
    [InlineData("kserve/sharpserve-runtime.yaml", "autoSelect: false", "autoSelect: \"no\"", "autoSelect")]
    [InlineData("kserve/inferenceservice-onnx.yaml", "storageUri:", "storageURI:", "storageURI")]
    [InlineData("kubernetes/deployment.yaml", "runAsNonRoot: true", "runAsNonRoot: yes-please", "runAsNonRoot")]
    [InlineData("kubernetes/service.yaml", "targetPort: http", "targetPot: http", "targetPot")]
    [InlineData("kubernetes/hpa.yaml", "averageUtilization: 70", "averageUtilisation: 70", "averageUtilisation")]
    [InlineData("kubernetes/kustomization.yaml", "resources:", "resource:", "resource")]
    public async Task AManifestWithAMistake_FailsValidation_NamingIt(string manifest, string text, string mistake, string named)
    {
        // The check can fail: each schema refuses a misspelt field or a wrong type.
        string original = await File.ReadAllTextAsync(RepositoryFiles.Path("deploy", manifest));
        Assert.Contains(text, original, StringComparison.Ordinal);
        string broken = Path.Combine(_temp, Path.GetFileName(manifest));
        await File.WriteAllTextAsync(broken, original.Replace(text, mistake, StringComparison.Ordinal));

        var result = Assert.Single(await ValidateAsync(broken));

        Assert.Contains(result.Errors, e => e.Contains(named, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AKindWithoutAVendoredSchema_IsAnError()
    {
        string file = Path.Combine(_temp, "configmap.yaml");
        await File.WriteAllTextAsync(file, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");

        var result = Assert.Single(await ValidateAsync(file));

        Assert.Equal("no vendored schema for apiVersion 'v1', kind 'ConfigMap'", Assert.Single(result.Errors));
    }

    [Fact]
    public async Task TheKustomization_ListsEveryManifestOfItsFolder()
    {
        JsonElement kustomization = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kubernetes", "kustomization.yaml"), "Kustomization");
        string[] listed = [.. Manifest.Strings(kustomization.GetProperty("resources")).Order(StringComparer.Ordinal)];
        string[] present = [.. Directory.EnumerateFiles(RepositoryFiles.Path("deploy", "kubernetes"), "*.yaml")
            .Select(Path.GetFileName).Where(n => n != "kustomization.yaml").Select(n => n!).Order(StringComparer.Ordinal)];

        Assert.Equal(present, listed);
    }
}
