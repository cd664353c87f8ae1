using Sharpserve.Core.Models;

namespace Sharpserve.Hosting;

internal sealed partial class RepositoryModelControl
{
    /// <summary>
    /// Every model of the repository directory as it is now (folders added after start included), each version with
    /// its state; without a repository, the served models. <paramref name="readyOnly"/> keeps the READY rows.
    /// </summary>
    public IReadOnlyList<RepositoryIndexEntry> Index(bool readyOnly)
    {
        var rows = new List<RepositoryIndexEntry>();
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (ServedModel model in Registry.All)
        {
            names.Add(model.Name);
        }

        if (_options.Repository is { } repository)
        {
            foreach (string name in ModelFolders(repository.Directory))
            {
                names.Add(name);
            }
        }

        foreach (string name in names)
        {
            IReadOnlyList<ServedModel> served = Registry.Versions(name);
            if (served.Count > 0)
            {
                foreach (ServedModel model in served)
                {
                    string state = model.IsReady ? Ready : Registry.IsLoading(model) ? Loading : Unavailable;
                    rows.Add(new RepositoryIndexEntry(name, model.Version, state, state == Unavailable ? "not ready" : ""));
                }

                continue;
            }

            (string State, string Reason) known = _states.TryGetValue(name, out var recorded) ? recorded : (Unavailable, "not loaded");
            List<string> versions = _options.Repository is { } repo ? VersionFolders(Path.Combine(repo.Directory, name)) : [];
            if (versions.Count == 0)
            {
                rows.Add(new RepositoryIndexEntry(name, null, known.State, known.Reason));
            }

            foreach (string version in versions)
            {
                rows.Add(new RepositoryIndexEntry(name, version, known.State, known.Reason));
            }
        }

        if (readyOnly)
        {
            rows.RemoveAll(static row => row.State != Ready);
        }

        return rows;
    }

    /// <summary>The folders of the repository that are model folders by name (as the start-up scan takes them).</summary>
    private static List<string> ModelFolders(string directory)
    {
        var names = new List<string>();
        try
        {
            foreach (string path in Directory.EnumerateDirectories(directory))
            {
                string name = Path.GetFileName(path);
                if (ModelRepository.IsValidModelName(name))
                {
                    names.Add(name);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A repository that cannot be listed now shows what is served.
        }

        return names;
    }

    /// <summary>A model folder's version folders in ascending order.</summary>
    private static List<string> VersionFolders(string modelDirectory)
    {
        var versions = new List<string>();
        try
        {
            foreach (string path in Directory.EnumerateDirectories(modelDirectory))
            {
                string name = Path.GetFileName(path);
                if (ModelRepository.TryParseVersion(name, out _))
                {
                    versions.Add(name);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Listed without versions.
        }

        versions.Sort(ModelRegistry.CompareVersions);
        return versions;
    }
}
