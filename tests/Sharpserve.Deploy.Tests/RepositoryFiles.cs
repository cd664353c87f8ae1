namespace Sharpserve.Deploy.Tests;

/// <summary>Paths in the repository the tests were built from (found upwards from the test assembly).</summary>
internal static class RepositoryFiles
{
    private static readonly Lazy<string> s_root = new(FindRoot);

    /// <summary>The repository's root folder: the one holding Sharpserve.sln.</summary>
    public static string Root => s_root.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>A file of the test's data, copied next to the test assembly.</summary>
    public static string DataPath(params string[] parts) => System.IO.Path.Combine([AppContext.BaseDirectory, "data", .. parts]);

    /// <summary>The manifests under deploy/kserve and deploy/kubernetes, in ordinal order.</summary>
    public static string[] Manifests()
    {
        var files = new List<string>();
        foreach (string folder in (string[])["kserve", "kubernetes"])
        {
            files.AddRange(Directory.EnumerateFiles(Path("deploy", folder), "*.yaml"));
        }

        files.Sort(StringComparer.Ordinal);
        return [.. files];
    }

    /// <summary>
    /// Every YAML file of the repository (*.yaml, *.yml and the .yamllint config), build output and version control
    /// left out, in ordinal order.
    /// </summary>
    public static string[] YamlFiles()
    {
        var files = new List<string>();
        var pending = new Stack<string>();
        pending.Push(Root);
        while (pending.Count > 0)
        {
            string folder = pending.Pop();
            foreach (string directory in Directory.EnumerateDirectories(folder))
            {
                string name = System.IO.Path.GetFileName(directory);
                if (name is not (".git" or "bin" or "obj" or "TestResults" or "artifacts" or "node_modules" or "out"))
                {
                    pending.Push(directory);
                }
            }

            foreach (string file in Directory.EnumerateFiles(folder))
            {
                string name = System.IO.Path.GetFileName(file);
                if (name.EndsWith(".yaml", StringComparison.Ordinal) || name.EndsWith(".yml", StringComparison.Ordinal) || name == ".yamllint")
                {
                    files.Add(file);
                }
            }
        }

        files.Sort(StringComparer.Ordinal);
        return [.. files];
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Sharpserve.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no Sharpserve.sln above {AppContext.BaseDirectory}");
    }
}
