using System.Text.Json;

namespace Sharpserve.Deploy.Tests;

/// <summary>
/// KServe's rules the CRD schema does not state (docs/deploy.md): the allowed protocol versions (a bare string in
/// the CRD), the container KServe expects, the arguments of Sharpserve's contract, probes, security and metrics; and
/// the example InferenceServices against the runtime.
/// </summary>
public sealed class ServingRuntimeTests
{
    /// <summary>KServe's constants.InferenceServiceProtocol values (pkg/constants/constants.go, v0.20.0).</summary>
    private static readonly string[] s_kserveProtocols = ["v1", "v2", "grpc-v1", "grpc-v2"];

    /// <summary>The arguments of issue 16, the contract the contract test runs.</summary>
    private static readonly string[] s_arguments =
    [
        "serve", "--model-repository", "/mnt/models", "--name", "{{.Name}}", "--host", "0.0.0.0", "--port", "8080",
        "--grpc-port", "9000", "--cache-dir", "/tmp/sharpserve",
    ];

    private static Task<JsonElement> RuntimeAsync() =>
        Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kserve", "sharpserve-runtime.yaml"), "ClusterServingRuntime");

    private static async Task<JsonElement> ContainerAsync() =>
        Assert.Single(Manifest.At(await RuntimeAsync(), "spec.containers").EnumerateArray());

    [Fact]
    public async Task ProtocolVersions_AreKServesV2AndGrpcV2()
    {
        string[] versions = Manifest.Strings(Manifest.At(await RuntimeAsync(), "spec.protocolVersions"));

        Assert.All(versions, v => Assert.Contains(v, s_kserveProtocols));
        Assert.Equal(versions.Distinct().Count(), versions.Length);
        Assert.Equal(["v2", "grpc-v2"], versions);
    }

    [Fact]
    public async Task ModelFormats_AutoSelectFastTextAndSharpserve_ButNotOnnx()
    {
        JsonElement runtime = await RuntimeAsync();
        Assert.Equal("sharpserve", Manifest.At(runtime, "metadata.name").GetString());
        var autoSelect = new Dictionary<string, bool>();
        foreach (JsonElement format in Manifest.At(runtime, "spec.supportedModelFormats").EnumerateArray())
        {
            autoSelect.Add(format.GetProperty("name").GetString()!, format.TryGetProperty("autoSelect", out JsonElement a) && a.GetBoolean());
        }

        // Triton claims onnx with autoSelect at priority 1; KServe's webhook refuses a second runtime tying with it.
        Assert.Equal(new Dictionary<string, bool> { ["fasttext"] = true, ["sharpserve"] = true, ["onnx"] = false }, autoSelect);
    }

    [Fact]
    public async Task Container_IsKServeContainer_WithNoPorts_AndTheContractsArguments()
    {
        JsonElement container = await ContainerAsync();

        Assert.Equal("kserve-container", container.GetProperty("name").GetString());
        Assert.False(container.TryGetProperty("ports", out _), "KServe adds the ports itself, as for Triton and MLServer");
        Assert.Equal(s_arguments, Manifest.Strings(container.GetProperty("args")));
        Assert.False(container.TryGetProperty("command", out _), "the image's ENTRYPOINT runs sharpserve");
    }

    [Fact]
    public async Task Probes_AreReadyAndLive_On8080()
    {
        JsonElement container = await ContainerAsync();

        Assert.Equal("/v2/health/ready", Manifest.At(container, "readinessProbe.httpGet.path").GetString());
        Assert.Equal(8080, Manifest.At(container, "readinessProbe.httpGet.port").GetInt32());
        Assert.Equal("/v2/health/live", Manifest.At(container, "livenessProbe.httpGet.path").GetString());
        Assert.Equal(8080, Manifest.At(container, "livenessProbe.httpGet.port").GetInt32());
    }

    [Fact]
    public async Task SecurityContext_IsNonRoot_WithoutEscalation_AndDropsAll()
    {
        JsonElement security = (await ContainerAsync()).GetProperty("securityContext");

        Assert.True(security.GetProperty("runAsNonRoot").GetBoolean());
        Assert.Equal(1654, security.GetProperty("runAsUser").GetInt32());
        Assert.False(security.GetProperty("allowPrivilegeEscalation").GetBoolean());
        Assert.Equal(["ALL"], Manifest.Strings(Manifest.At(security, "capabilities.drop")));
        Assert.True(security.GetProperty("readOnlyRootFilesystem").GetBoolean());
    }

    [Fact]
    public async Task TheCacheDirectory_IsOnAWritableVolume()
    {
        JsonElement runtime = await RuntimeAsync();
        JsonElement mount = Assert.Single(Manifest.At(runtime, "spec.containers").EnumerateArray().Single().GetProperty("volumeMounts").EnumerateArray());
        JsonElement volume = Assert.Single(Manifest.At(runtime, "spec.volumes").EnumerateArray());

        Assert.StartsWith(mount.GetProperty("mountPath").GetString() + "/", "/tmp/sharpserve", StringComparison.Ordinal);
        Assert.Equal(volume.GetProperty("name").GetString(), mount.GetProperty("name").GetString());
        Assert.True(volume.TryGetProperty("emptyDir", out _));
    }

    [Fact]
    public async Task Resources_RequestCpuAndMemory_WithinTheLimits()
    {
        JsonElement resources = (await ContainerAsync()).GetProperty("resources");

        Assert.Equal("1", Manifest.At(resources, "requests.cpu").GetString());
        Assert.Equal("1536Mi", Manifest.At(resources, "requests.memory").GetString());
        Assert.Equal("2Gi", Manifest.At(resources, "limits.memory").GetString());
    }

    [Fact]
    public async Task Metrics_AreAnnouncedForPrometheus()
    {
        JsonElement annotations = Manifest.At(await RuntimeAsync(), "spec.annotations");

        Assert.Equal("8080", annotations.GetProperty("prometheus.kserve.io/port").GetString());
        Assert.Equal("/metrics", annotations.GetProperty("prometheus.kserve.io/path").GetString());
    }

    [Theory]
    [InlineData("inferenceservice-fasttext.yaml", "fasttext")]
    [InlineData("inferenceservice-onnx.yaml", "onnx")]
    [InlineData("inferenceservice-python.yaml", "sharpserve")]
    public async Task ExampleInferenceServices_UseTheRuntime_WithProtocolV2(string file, string format)
    {
        JsonElement service = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kserve", file), "InferenceService");
        JsonElement model = Manifest.At(service, "spec.predictor.model");
        string[] runtimeProtocols = Manifest.Strings(Manifest.At(await RuntimeAsync(), "spec.protocolVersions"));
        string[] runtimeFormats = [.. Manifest.At(await RuntimeAsync(), "spec.supportedModelFormats").EnumerateArray().Select(f => f.GetProperty("name").GetString()!)];

        Assert.Equal("sharpserve", model.GetProperty("runtime").GetString());
        string protocol = model.GetProperty("protocolVersion").GetString()!;
        Assert.Equal("v2", protocol);
        Assert.Contains(protocol, s_kserveProtocols);
        Assert.Contains(protocol, runtimeProtocols);
        Assert.Equal(format, Manifest.At(model, "modelFormat.name").GetString());
        Assert.Contains(format, runtimeFormats);
        Assert.True(model.TryGetProperty("storageUri", out _));
    }
}
