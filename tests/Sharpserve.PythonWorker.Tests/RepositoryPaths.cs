namespace Sharpserve.PythonWorker.Tests;

/// <summary>
/// Files of the repository the tests read in place: the Python package and models are not copied to the output,
/// so a test always runs the worker's current source.
/// </summary>
internal static class RepositoryPaths
{
    /// <summary>The folder holding Sharpserve.sln, found by walking up from the test assembly.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The folder that holds the <c>sharpserve</c> package: what the front puts on PYTHONPATH.</summary>
    public static string PythonPackageParent => Path.Combine(Root, "src", "python");

    public static string Data(params string[] parts) => Path.Combine([Root, "tests", "data", .. parts]);

    private static string FindRoot()
    {
        for (DirectoryInfo? folder = new(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Sharpserve.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no Sharpserve.sln above {AppContext.BaseDirectory}");
    }
}
