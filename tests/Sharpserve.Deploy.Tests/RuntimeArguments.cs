namespace Sharpserve.Deploy.Tests;

/// <summary>The ServingRuntime container's arguments, as written in deploy/kserve/sharpserve-runtime.yaml.</summary>
internal sealed record RuntimeArguments(string[] All)
{
    /// <summary>The arguments without <c>--name {{.Name}}</c>: the image's and the plain Deployment's, serving a whole repository.</summary>
    public string[] WithoutName
    {
        get
        {
            int name = Array.IndexOf(All, "--name");
            return [.. All[..name], .. All[(name + 2)..]];
        }
    }

    public static async Task<RuntimeArguments> OfRuntimeAsync()
    {
        var runtime = await Manifest.LoadOneAsync(RepositoryFiles.Path("deploy", "kserve", "sharpserve-runtime.yaml"), "ClusterServingRuntime");
        return new RuntimeArguments(Manifest.Strings(Assert.Single(Manifest.At(runtime, "spec.containers").EnumerateArray()).GetProperty("args")));
    }
}
