using System.Globalization;

namespace Sharpserve.Hosting;

/// <summary>
/// A Triton-like model repository (<c>sharpserve serve --model-repository DIR</c>), scanned once at start:
/// <c>DIR/&lt;model&gt;/[config.json]</c> and <c>DIR/&lt;model&gt;/&lt;version&gt;/model.onnx|model.bin</c> (the
/// default file names and the config's backend names are those of the <see cref="BackendCatalog"/>'s backends).
/// <see cref="Scan"/> reads only the layout, the config files and the first bytes of each model file (no model is
/// opened), and reports every problem it finds, each on one line naming the path, so an operator fixes them all
/// in one go (docs/operations.md).
/// </summary>
internal sealed partial class ModelRepository
{
    public const string ConfigFileName = "config.json";

    /// <summary>The version of a model whose folder holds its file directly, with no version folders.</summary>
    public const string UnversionedVersion = "1";

    private readonly BackendCatalog _catalog;
    private readonly List<Entry> _entries = [];
    private readonly List<string> _problems = [];

    private ModelRepository(BackendCatalog catalog)
    {
        _catalog = catalog;
    }

    /// <summary>One (model, version) to serve.</summary>
    /// <param name="Name">The model folder's name: the model's name in /v2/models/{name}.</param>
    /// <param name="Version">The version folder's name, a positive decimal integer.</param>
    /// <param name="ModelPath">The model file, a full path.</param>
    /// <param name="Backend">
    /// The name of the backend that reads the file (from its first bytes, else from its extension), e.g. "onnxruntime";
    /// null when neither tells, and opening it says why.
    /// </param>
    /// <param name="PythonEntry">A Python model's MODULE:ATTR; its <paramref name="ModelPath"/> is then the version folder.</param>
    /// <param name="Batching">The model's own batching from its config.json; null: the server's.</param>
    public sealed record Entry(string Name, string Version, string ModelPath, string? Backend, string? PythonEntry = null, BatchingConfig? Batching = null);

    /// <summary>What to serve, by model name (ordinal) then version (ascending); the first name is the default model.</summary>
    public IReadOnlyList<Entry> Entries => _entries;

    /// <summary>Everything wrong with the repository; serve refuses to start unless this is empty.</summary>
    public IReadOnlyList<string> Problems => _problems;

    /// <summary>Scans <paramref name="directory"/>: layout, names, config files and version policies.</summary>
    /// <param name="directory">The repository's root folder.</param>
    /// <param name="setting">Where the directory came from, for messages: the flag or its environment variable.</param>
    /// <param name="catalog">The backends whose model files are served; <see cref="BackendCatalog.Default"/> when null.</param>
    public static ModelRepository Scan(string directory, string setting = "--model-repository", BackendCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var repository = new ModelRepository(catalog ?? BackendCatalog.Default);
        repository.ScanRepository(directory, setting);
        return repository;
    }

    /// <summary>
    /// Scans one model folder of a repository as <see cref="Scan"/> does (the repository API's load): only
    /// <paramref name="root"/>/<paramref name="name"/>, which must be a valid model name.
    /// </summary>
    public static ModelRepository ScanOneModel(string root, string name, BackendCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(name);
        var repository = new ModelRepository(catalog ?? BackendCatalog.Default);
        string modelDirectory = Path.Combine(root, name);
        if (!Directory.Exists(modelDirectory))
        {
            repository._problems.Add($"{modelDirectory}: no such model folder");
        }
        else
        {
            repository.ScanModel(modelDirectory, name);
        }

        return repository;
    }

    /// <summary>
    /// Scans <paramref name="directory"/> for the one model <paramref name="name"/> (<c>--model-repository DIR --name
    /// NAME</c>, KServe's layout, where the storage URI's content is put at /mnt/models): <c>DIR/NAME/</c> when that
    /// folder exists (a repository holding the model), else DIR itself as the model folder
    /// (<c>DIR/[config.json]</c>, <c>DIR/&lt;version&gt;/model.*</c>), else, when DIR has no version folders, DIR as
    /// the model's only version, "1" (<c>DIR/[config.json]</c>, <c>DIR/model.*</c>).
    /// </summary>
    /// <param name="directory">The folder given to --model-repository.</param>
    /// <param name="name">The served model's name (a valid model name, checked by the --name parser).</param>
    /// <param name="setting">Where the directory came from, for messages: the flag or its environment variable.</param>
    /// <param name="catalog">The backends whose model files are served; <see cref="BackendCatalog.Default"/> when null.</param>
    public static ModelRepository ScanSingleModel(string directory, string name, string setting = "--model-repository", BackendCatalog? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(name);
        var repository = new ModelRepository(catalog ?? BackendCatalog.Default);
        if (repository.CheckRoot(directory, setting) is not { } root)
        {
            return repository;
        }

        string named = Path.Combine(root, name);
        if (Directory.Exists(named))
        {
            repository.ScanModel(named, name);
        }
        else if (repository.TryListFolders(root, out List<string> folders))
        {
            if (folders.Exists(static folder => TryParseVersion(folder, out _)))
            {
                repository.ScanModel(root, name);
            }
            else
            {
                repository.ScanUnversionedModel(root, name);
            }
        }

        return repository;
    }

    private void ScanRepository(string directory, string setting)
    {
        if (CheckRoot(directory, setting) is not { } root)
        {
            return;
        }

        if (!TryListFolders(root, out List<string> modelFolders))
        {
            return;
        }

        if (modelFolders.Count == 0)
        {
            _problems.Add($"{root}: the model repository has no models; expected {Path.Combine(root, "<model>", "<version>", string.Join(" or ", DefaultFileNames))}");
            return;
        }

        foreach (string name in modelFolders)
        {
            ScanModel(Path.Combine(root, name), name);
        }
    }

    /// <summary>The full path of a repository's root folder, or null when it is a URL or not a directory (a problem added).</summary>
    private string? CheckRoot(string directory, string setting)
    {
        if (directory.Contains("://", StringComparison.Ordinal))
        {
            _problems.Add($"{setting} '{directory}': models are loaded from local directories only, not from URLs");
            return null;
        }

        if (!Directory.Exists(directory))
        {
            _problems.Add(File.Exists(directory)
                ? $"{setting} '{directory}' is a file, not a directory (to serve one model file: sharpserve serve MODEL)"
                : $"{setting} '{directory}' does not exist");
            return null;
        }

        return Path.GetFullPath(directory);
    }

    /// <summary>A model folder that holds its model file (or Python module) itself, served as version "1".</summary>
    private void ScanUnversionedModel(string modelDirectory, string name)
    {
        string configPath = Path.Combine(modelDirectory, ConfigFileName);
        if ((File.Exists(configPath) ? ReadConfig(configPath, name) : ModelConfig.Default) is not { } config)
        {
            return;
        }

        if (config.Entry is { } pythonEntry)
        {
            if (FindPythonModule(modelDirectory, pythonEntry))
            {
                _entries.Add(new Entry(name, UnversionedVersion, modelDirectory, PythonBackend, pythonEntry));
            }
        }
        else if (FindModelFile(modelDirectory, config, configPath) is { } entry)
        {
            _entries.Add(new Entry(name, UnversionedVersion, entry.Path, entry.Backend));
        }
    }

    private void ScanModel(string modelDirectory, string name)
    {
        if (!IsValidModelName(name))
        {
            _problems.Add($"{modelDirectory}: '{name}' is not a valid model name (letters, digits, '_', '-', '.'; not starting with '.')");
            return;
        }

        string configPath = Path.Combine(modelDirectory, ConfigFileName);
        ModelConfig? config = File.Exists(configPath) ? ReadConfig(configPath, name) : ModelConfig.Default;
        if (!TryListFolders(modelDirectory, out List<string> folders))
        {
            return;
        }

        var versions = new SortedDictionary<long, string>();
        foreach (string folder in folders)
        {
            if (TryParseVersion(folder, out long version))
            {
                versions.Add(version, folder);
            }
            else
            {
                _problems.Add($"{Path.Combine(modelDirectory, folder)}: a folder in a model folder must be a version number, a positive integer without sign or leading zeros (1, 2, ...)");
            }
        }

        if (folders.Count == 0)
        {
            _problems.Add($"{modelDirectory}: model '{name}' has no version folders; put its model file in {Path.Combine(modelDirectory, "1", string.Join(" or ", DefaultFileNames))}");
            return;
        }

        if (config is null || versions.Count < folders.Count)
        {
            // A broken config or version folder is reported above; what would follow from it is noise.
            return;
        }

        foreach (long version in SelectVersions(config.Policy, versions, configPath, modelDirectory))
        {
            string versionDirectory = Path.Combine(modelDirectory, versions[version]);
            if (config.Entry is { } pythonEntry)
            {
                if (FindPythonModule(versionDirectory, pythonEntry))
                {
                    _entries.Add(new Entry(name, versions[version], Path.GetFullPath(versionDirectory), PythonBackend, pythonEntry));
                }
            }
            else if (FindModelFile(versionDirectory, config, configPath) is { } entry)
            {
                _entries.Add(new Entry(name, versions[version], entry.Path, entry.Backend, Batching: config.Batching));
            }
        }
    }

    /// <summary>The versions the policy serves, ascending; a listed version with no folder is a problem.</summary>
    private List<long> SelectVersions(VersionPolicy policy, SortedDictionary<long, string> versions, string configPath, string modelDirectory)
    {
        var selected = new List<long>();
        switch (policy.Kind)
        {
            case VersionPolicyKind.All:
                selected.AddRange(versions.Keys);
                break;
            case VersionPolicyKind.Latest:
                selected.AddRange(versions.Keys);
                selected.RemoveRange(0, Math.Max(0, selected.Count - policy.NumVersions));
                break;
            case VersionPolicyKind.Specific:
                foreach (long version in policy.Versions)
                {
                    if (versions.ContainsKey(version))
                    {
                        selected.Add(version);
                    }
                    else
                    {
                        _problems.Add($"{configPath}: version_policy.specific lists version {version}, but there is no folder {Path.Combine(modelDirectory, version.ToString(CultureInfo.InvariantCulture))}");
                    }
                }

                break;
        }

        return selected;
    }

    /// <summary>The default file names of the catalog's backends, in its order: model.onnx, model.bin.</summary>
    private string[] DefaultFileNames => [.. _catalog.Backends.Select(b => b.DefaultFileName)];

    /// <summary>
    /// The model file of a version folder: default_model_filename when the config gives one, else the default file
    /// of the backend it names, else whichever backend's default file exists. Its backend is the one that reads it
    /// (<see cref="BackendCatalog.Find"/>), or for a file that says nothing yet (empty, unreadable), the one whose
    /// default file has its extension.
    /// </summary>
    private (string Path, string? Backend)? FindModelFile(string versionDirectory, ModelConfig config, string configPath)
    {
        string[] candidates = config.DefaultModelFilename is { } fileName ? [fileName]
            : config.Backend is { } backendName && _catalog.FindByName(backendName) is { } named ? [named.DefaultFileName]
            : DefaultFileNames;
        string? found = null;
        foreach (string candidate in candidates)
        {
            string path = Path.Combine(versionDirectory, candidate);
            if (!File.Exists(path))
            {
                continue;
            }

            if (found is not null)
            {
                _problems.Add($"{versionDirectory}: has both {Path.GetFileName(found)} and {candidate}; say which to serve with \"backend\" or \"default_model_filename\" in {configPath}");
                return null;
            }

            found = path;
        }

        if (found is null)
        {
            string expected = candidates.Length == 1 ? candidates[0]
                : string.Join(" or ", _catalog.Backends.Select(b => $"{b.DefaultFileName} ({b.DisplayName})"));
            string why = config.DefaultModelFilename is not null ? $" (default_model_filename in {configPath})" : "";
            _problems.Add($"{versionDirectory}: no model file; expected {expected}{why}");
            return null;
        }

        string? backend = (_catalog.Find(found) ?? _catalog.FindByFileName(found))?.Name;
        if (config.Backend is not null && backend is not null && config.Backend != backend)
        {
            string byExtension = string.Join(", ", _catalog.Backends.Select(b => $"{Path.GetExtension(b.DefaultFileName)} files by {b.Name}"));
            _problems.Add($"{configPath}: backend '{config.Backend}' does not match the model file {found}, which is served by '{backend}' (files are recognised by their first bytes, else by their extension: {byExtension})");
            return null;
        }

        return (found, backend);
    }

    /// <summary>A Python model's version folder must hold its entry's top module: MODULE.py or MODULE/__init__.py.</summary>
    private bool FindPythonModule(string versionDirectory, string entry)
    {
        string module = entry[..entry.IndexOf(':', StringComparison.Ordinal)].Split('.')[0];
        if (File.Exists(Path.Combine(versionDirectory, module + ".py")) || File.Exists(Path.Combine(versionDirectory, module, "__init__.py")))
        {
            return true;
        }

        _problems.Add($"{versionDirectory}: no {module}.py (or {module}/__init__.py) for the Python model's entry {entry}");
        return false;
    }

    /// <summary>The folders of <paramref name="directory"/>, hidden ones ('.' first) skipped, in ordinal order; files are ignored.</summary>
    private bool TryListFolders(string directory, out List<string> folders)
    {
        folders = [];
        try
        {
            foreach (string path in Directory.EnumerateDirectories(directory))
            {
                string name = Path.GetFileName(path);
                if (!name.StartsWith('.'))
                {
                    folders.Add(name);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _problems.Add($"{directory}: cannot be listed: {ex.Message}");
            return false;
        }

        folders.Sort(StringComparer.Ordinal);
        return true;
    }

    /// <summary>Model names appear in URLs: ASCII letters, digits, '_', '-', '.', not starting with '.'.</summary>
    public static bool IsValidModelName(string name)
    {
        if (name.Length == 0 || name[0] == '.')
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A version folder's name: a positive decimal integer, no sign, no leading zeros, so "1" and "01" cannot both exist.</summary>
    public static bool TryParseVersion(string name, out long version)
    {
        version = 0;
        return name.Length > 0 && name[0] != '0'
            && long.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }
}
