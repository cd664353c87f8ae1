using System.Text.Json;

namespace Sharpserve.Hosting;

/// <summary>A model folder's optional config.json: read with JsonDocument, every field checked, unknown fields refused.</summary>
internal sealed partial class ModelRepository
{
    /// <summary>A config file larger than this is not a config file.</summary>
    private const long MaxConfigBytes = 1 << 20;

    private static readonly string[] s_configFields = ["name", "backend", "default_model_filename", "version_policy", "entry", "max_batch_size", "dynamic_batching"];

    private enum VersionPolicyKind
    {
        Latest,
        All,
        Specific,
    }

    /// <summary>Which version folders are served: the highest <see cref="NumVersions"/>, all, or the listed <see cref="Versions"/>.</summary>
    private sealed record VersionPolicy(VersionPolicyKind Kind, int NumVersions, IReadOnlyList<long> Versions)
    {
        public static readonly VersionPolicy LatestOne = new(VersionPolicyKind.Latest, 1, []);
    }

    /// <param name="Entry">A Python model's MODULE:ATTR (backend "python"; default model:Model), imported from the version folder.</param>
    /// <param name="Batching">The model's own batching settings (max_batch_size, dynamic_batching), or null: the server's.</param>
    private sealed record ModelConfig(string? Backend, string? DefaultModelFilename, VersionPolicy Policy, string? Entry = null, BatchingConfig? Batching = null)
    {
        public static readonly ModelConfig Default = new(null, null, VersionPolicy.LatestOne);
    }

    /// <summary>The backend name of Python models, which are code, not a file a backend of the catalog reads.</summary>
    public const string PythonBackend = "python";

    /// <summary>A Python model's entry when its config.json gives none: Model in model.py.</summary>
    public const string DefaultPythonEntry = "model:Model";

    /// <summary>The model's config, or null when it has problems (each added to <see cref="Problems"/>).</summary>
    private ModelConfig? ReadConfig(string path, string folderName)
    {
        JsonDocument document;
        try
        {
            if (new FileInfo(path).Length > MaxConfigBytes)
            {
                _problems.Add($"{path}: larger than {MaxConfigBytes} bytes; a config.json is a small JSON object");
                return null;
            }

            // Editors on some systems save UTF-8 with a byte-order mark, which JsonDocument does not skip by itself.
            byte[] bytes = File.ReadAllBytes(path);
            document = JsonDocument.Parse(bytes.AsMemory(bytes.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0));
        }
        catch (JsonException ex)
        {
            _problems.Add($"{path}: malformed JSON: {ex.Message}");
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _problems.Add($"{path}: cannot be read: {ex.Message}");
            return null;
        }

        using (document)
        {
            int problemsBefore = _problems.Count;
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                _problems.Add($"{path}: must be a JSON object, got {Kind(root)}");
                return null;
            }

            string? backend = null;
            string? fileName = null;
            string? entry = null;
            VersionPolicy policy = VersionPolicy.LatestOne;
            int? maxBatchSize = null;
            JsonElement? dynamicBatching = null;
            foreach (JsonProperty field in Fields(root, path, "", s_configFields))
            {
                switch (field.Name)
                {
                    case "name":
                        if (ReadString(field, path, "name") is { } name && name != folderName)
                        {
                            _problems.Add($"{path}: name '{name}' must equal the model folder's name '{folderName}'");
                        }

                        break;
                    case "backend":
                        backend = ReadString(field, path, "backend");
                        if (backend is not null && backend != PythonBackend && _catalog.FindByName(backend) is null)
                        {
                            string[] names = [.. _catalog.Backends.Select(b => $"'{b.Name}'"), $"'{PythonBackend}'"];
                            _problems.Add($"{path}: backend must be {string.Join(", ", names[..^1])} or {names[^1]}, got '{backend}'");
                        }

                        break;
                    case "default_model_filename":
                        fileName = ReadString(field, path, "default_model_filename");
                        if (fileName is not null && !IsPlainFileName(fileName))
                        {
                            _problems.Add($"{path}: default_model_filename must be a file name in the version folder (no '/', not starting with '.'), got '{fileName}'");
                        }

                        break;
                    case "entry":
                        entry = ReadString(field, path, "entry");
                        if (entry is not null && Python.PythonEntry.Check(entry) is { } entryProblem)
                        {
                            _problems.Add($"{path}: entry {entryProblem}");
                        }

                        break;
                    case "version_policy":
                        policy = ReadVersionPolicy(field.Value, path) ?? policy;
                        break;
                    case "max_batch_size":
                        maxBatchSize = ReadMaxBatchSize(field.Value, path);
                        break;
                    case "dynamic_batching":
                        dynamicBatching = field.Value;
                        break;
                }
            }

            BatchingConfig? batching = ReadBatching(maxBatchSize, dynamicBatching, path);
            if (backend == PythonBackend && batching is { MaxBatchSize: > 1 })
            {
                _problems.Add($"{path}: max_batch_size {batching.MaxBatchSize}: Python models do not batch yet (they run in worker processes, which do not batch yet); remove it or set 1");
            }

            if (entry is not null && backend != PythonBackend)
            {
                _problems.Add($"{path}: entry is for Python models; add \"backend\": \"{PythonBackend}\"");
            }

            if (backend == PythonBackend && fileName is not null)
            {
                _problems.Add($"{path}: default_model_filename does not apply to a Python model; name its module and class with \"entry\" (default {DefaultPythonEntry})");
            }

            return _problems.Count == problemsBefore
                ? new ModelConfig(backend, fileName, policy, backend == PythonBackend ? entry ?? DefaultPythonEntry : null, batching)
                : null;
        }
    }

    /// <summary>
    /// <c>{"latest": {"num_versions": N}}</c> (N defaults to 1), <c>{"all": {}}</c> or
    /// <c>{"specific": {"versions": [1, 3]}}</c>: exactly one of the three.
    /// </summary>
    private VersionPolicy? ReadVersionPolicy(JsonElement value, string path)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            _problems.Add($"{path}: version_policy must be an object such as {{\"latest\": {{\"num_versions\": 1}}}}, got {Kind(value)}");
            return null;
        }

        List<JsonProperty> kinds = Fields(value, path, "version_policy.", ["latest", "all", "specific"]);
        if (kinds.Count != 1)
        {
            _problems.Add($"{path}: version_policy must have exactly one of 'latest', 'all', 'specific', got {kinds.Count}");
            return null;
        }

        JsonProperty kind = kinds[0];
        string prefix = $"version_policy.{kind.Name}";
        if (kind.Value.ValueKind != JsonValueKind.Object)
        {
            _problems.Add($"{path}: {prefix} must be an object, got {Kind(kind.Value)}");
            return null;
        }

        switch (kind.Name)
        {
            case "latest":
                int numVersions = 1;
                foreach (JsonProperty field in Fields(kind.Value, path, prefix + ".", ["num_versions"]))
                {
                    if (field.Value.ValueKind != JsonValueKind.Number || !field.Value.TryGetInt32(out numVersions) || numVersions < 1)
                    {
                        _problems.Add($"{path}: {prefix}.num_versions must be a positive integer, got {field.Value.GetRawText()}");
                        return null;
                    }
                }

                return new VersionPolicy(VersionPolicyKind.Latest, numVersions, []);
            case "all":
                Fields(kind.Value, path, prefix + ".", []); // only to refuse fields
                return new VersionPolicy(VersionPolicyKind.All, 0, []);
            default:
                return ReadSpecificVersions(kind.Value, path, prefix);
        }
    }

    private VersionPolicy? ReadSpecificVersions(JsonElement value, string path, string prefix)
    {
        List<JsonProperty> fields = Fields(value, path, prefix + ".", ["versions"]);
        if (fields.Count == 0 || fields[0].Value.ValueKind != JsonValueKind.Array || fields[0].Value.GetArrayLength() == 0)
        {
            _problems.Add($"{path}: {prefix}.versions must be a non-empty array of version numbers such as [1, 3]");
            return null;
        }

        var versions = new List<long>();
        foreach (JsonElement element in fields[0].Value.EnumerateArray())
        {
            if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt64(out long version) || version < 1)
            {
                _problems.Add($"{path}: {prefix}.versions must hold positive integers, got {element.GetRawText()}");
                return null;
            }

            if (!versions.Contains(version))
            {
                versions.Add(version);
            }
        }

        versions.Sort();
        return new VersionPolicy(VersionPolicyKind.Specific, 0, versions);
    }

    /// <summary>The object's fields; an unknown or repeated field is a problem naming the file and the field.</summary>
    private List<JsonProperty> Fields(JsonElement element, string path, string prefix, string[] known)
    {
        var fields = new List<JsonProperty>();
        foreach (JsonProperty field in element.EnumerateObject())
        {
            if (Array.IndexOf(known, field.Name) < 0)
            {
                string expected = known.Length == 0 ? "it takes no fields" : "known: " + string.Join(", ", known);
                _problems.Add($"{path}: unknown field '{prefix}{field.Name}' ({expected})");
            }
            else if (fields.Exists(f => f.Name == field.Name))
            {
                _problems.Add($"{path}: field '{prefix}{field.Name}' is given twice");
            }
            else
            {
                fields.Add(field);
            }
        }

        return fields;
    }

    private string? ReadString(JsonProperty field, string path, string name)
    {
        if (field.Value.ValueKind == JsonValueKind.String)
        {
            return field.Value.GetString();
        }

        _problems.Add($"{path}: {name} must be a string, got {Kind(field.Value)}");
        return null;
    }

    private static bool IsPlainFileName(string name) =>
        name.Length > 0 && name[0] != '.' && name.IndexOfAny(['/', '\\', '\0']) < 0;

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {element.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => "null",
    };
}
