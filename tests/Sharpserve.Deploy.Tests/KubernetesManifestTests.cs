using System.Text.Json;

namespace Sharpserve.Deploy.Tests;

/// <summary>deploy/kubernetes: the Deployment serves as the ServingRuntime does (same probes and arguments, less the one model name), the Service and the HPA point at it.</summary>
public sealed class KubernetesManifestTests
{
    private static async Task<JsonElement> DeploymentContainerAsync()
    {
        JsonElement deployment = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kubernetes", "deployment.yaml"), "Deployment");
        return Assert.Single(Manifest.At(deployment, "spec.template.spec.containers").EnumerateArray());
    }

    private static async Task<JsonElement> RuntimeContainerAsync()
    {
        JsonElement runtime = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kserve", "sharpserve-runtime.yaml"), "ClusterServingRuntime");
        return Assert.Single(Manifest.At(runtime, "spec.containers").EnumerateArray());
    }

    [Fact]
    public async Task Deployment_ServesTheWholeRepository_WithTheRuntimesArguments()
    {
        List<string> runtime = [.. Manifest.Strings((await RuntimeContainerAsync()).GetProperty("args"))];
        int name = runtime.IndexOf("--name");
        runtime.RemoveRange(name, 2);

        Assert.Equal(runtime, Manifest.Strings((await DeploymentContainerAsync()).GetProperty("args")));
    }

    [Fact]
    public async Task Deployment_HasTheRuntimesProbes()
    {
        JsonElement container = await DeploymentContainerAsync();

        Assert.Equal("/v2/health/ready", Manifest.At(container, "readinessProbe.httpGet.path").GetString());
        Assert.Equal("/v2/health/live", Manifest.At(container, "livenessProbe.httpGet.path").GetString());
        JsonElement http = Assert.Single(container.GetProperty("ports").EnumerateArray(), p => p.GetProperty("name").GetString() == "http");
        Assert.Equal(8080, http.GetProperty("containerPort").GetInt32());
        Assert.Equal("http", Manifest.At(container, "readinessProbe.httpGet.port").GetString());
    }

    [Fact]
    public async Task Deployment_MountsTheModelsReadOnly_AndRunsAsNonRoot()
    {
        JsonElement container = await DeploymentContainerAsync();
        JsonElement models = Assert.Single(container.GetProperty("volumeMounts").EnumerateArray(), m => m.GetProperty("mountPath").GetString() == "/mnt/models");

        Assert.True(models.GetProperty("readOnly").GetBoolean());
        Assert.True(Manifest.At(container, "securityContext.readOnlyRootFilesystem").GetBoolean());
        Assert.Equal(["ALL"], Manifest.Strings(Manifest.At(container, "securityContext.capabilities.drop")));
    }

    [Fact]
    public async Task ServiceAndHpa_TargetTheDeployment()
    {
        JsonElement service = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kubernetes", "service.yaml"), "Service");
        JsonElement hpa = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kubernetes", "hpa.yaml"), "HorizontalPodAutoscaler");

        Assert.Equal("sharpserve", Manifest.At(service, "spec.selector").GetProperty("app.kubernetes.io/name").GetString());
        Assert.Equal(["http", "grpc"], [.. Manifest.At(service, "spec.ports").EnumerateArray().Select(p => p.GetProperty("targetPort").GetString()!)]);
        Assert.Equal("Deployment", Manifest.At(hpa, "spec.scaleTargetRef.kind").GetString());
        Assert.Equal("sharpserve", Manifest.At(hpa, "spec.scaleTargetRef.name").GetString());
        JsonElement metric = Assert.Single(Manifest.At(hpa, "spec.metrics").EnumerateArray());
        Assert.Equal("cpu", Manifest.At(metric, "resource.name").GetString());
    }
}
