using System.Buffers.Binary;
using Microsoft.ML.OnnxRuntime;
using Sharpserve.Abstractions;
using ModelMetadata = Sharpserve.Abstractions.ModelMetadata;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// A loaded ONNX model: one <see cref="InferenceSession"/> shared by every executor (its Run is thread-safe), the
/// metadata read from it (names, datatypes, shapes with -1 for dynamic axes), and a warm-up request synthesised
/// from that metadata and checked to run (<see cref="ChooseWarmupRequests"/>).
/// </summary>
internal sealed class OnnxModel : IModel
{
    public const string Platform = "onnxruntime_onnx";

    private readonly InferenceSession _session;

    private OnnxModel(InferenceSession session, ModelMetadata metadata, OnnxBackendOptions options, long mappedBytes, OnnxWeightSharing sharing, long anonymousBytes)
    {
        Sharing = sharing;
        SessionAnonymousBytes = anonymousBytes;
        _session = session;
        Metadata = metadata;
        Options = options;
        MappedBytes = mappedBytes;
        OutputNames = [.. metadata.Outputs.Select(o => o.Name)];
        WarmupRequests = [MakeWarmupRequest(metadata)];
    }

    public ModelMetadata Metadata { get; }

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; private set; }

    public long MappedBytes { get; }

    public OnnxBackendOptions Options { get; }

    /// <summary>How this model's weights are held (the fallback shows here as NoPrepack).</summary>
    public OnnxWeightSharing Sharing { get; }

    /// <summary>Anonymous memory the process grew by while the session was created (weights copied, arenas).</summary>
    public long SessionAnonymousBytes { get; }

    internal InferenceSession Session => _session;

    internal string[] OutputNames { get; }

    /// <summary>Input dimensions that share a symbolic name with an earlier one (see <see cref="SharedDimension"/>).</summary>
    internal SharedDimension[] SharedDimensions { get; private init; } = [];

    public static OnnxModel Open(OnnxModelFile file, string modelName, OnnxBackendOptions options, OnnxWeightSharing sharing)
    {
        string name = Path.GetFileName(file.Path);
        InferenceSession session;
        long anonymousBefore = options.AnonymousMemoryProbe();
        using (SessionOptions sessionOptions = CreateSessionOptions(options))
        {
            if (sharing == OnnxWeightSharing.NoPrepack)
            {
                // Prepacked copies would be private to each process; the mapped external data stays shared.
                sessionOptions.AddSessionConfigEntry("session.disable_prepacking", "1");
            }

            try
            {
                session = new InferenceSession(file.Path, sessionOptions);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelLoadException($"{name}: ONNX Runtime cannot load the model: {e.Message}{LoadFailureHint(e.Message)}", e);
            }
        }

        try
        {
            ModelMetadata metadata = WithAnyRank(ReadMetadata(session, modelName, name, options.Log), file.Path);
            long mapped = ExternalBytes(file);

            long anonymous = Math.Max(0, options.AnonymousMemoryProbe() - anonymousBefore);
            long budget = options.AnonymousMemoryBudgetFor(WeightBytes(file));
            if (anonymous > budget)
            {
                string message = $"{name}: creating the session added {anonymous >> 20} MiB of anonymous memory, over the budget of {budget >> 20} MiB ({sharing}): the weights are probably copied into this process rather than shared";
                if (options.StrictSharing)
                {
                    throw new ModelLoadException(message + " (strict sharing is on)");
                }

                options.Log(message);
            }

            var model = new OnnxModel(session, metadata, options, mapped, sharing, anonymous)
            {
                SharedDimensions = ReadSharedDimensions(session, metadata),
            };
            model.WarmupRequests = model.ChooseWarmupRequests(name);
            return model;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The synthesised input is a guess, and a valid model can refuse it: zeros with every dynamic dimension 1 fail a
    /// 3x3 convolution without padding over a dynamic height and width, a TopK with a constant k over a dynamic axis,
    /// an integer division by an input. Executors treat a failed warm-up as a broken model, so each candidate runs once
    /// here and the first that runs is the warm-up; a model that refuses them all is served without warm-up runs,
    /// since the guess says nothing about what clients will send.
    /// </summary>
    private InferenceRequest[] ChooseWarmupRequests(string fileName)
    {
        string? lastError = null;
        using var session = new OnnxSession(this);
        foreach (InferenceRequest candidate in WarmupCandidates(Metadata))
        {
            InferResult result = session.Infer(candidate);
            if (result.IsSuccess)
            {
                return [candidate];
            }

            lastError = result.Error!.Message;
        }

        Options.Log($"{fileName}: no synthesised warm-up input runs on this model (last: {lastError}); it is served without warm-up runs");
        return [];
    }

    /// <summary>Zeros with dynamic dimensions 1; then ones; then ones with dynamic dimensions 16 (when small enough).</summary>
    internal static IEnumerable<InferenceRequest> WarmupCandidates(ModelMetadata metadata)
    {
        yield return MakeWarmupRequest(metadata);
        yield return MakeWarmupRequest(metadata, dynamicSize: 1, fillWithOnes: true)!;
        if (MakeWarmupRequest(metadata, dynamicSize: 16, fillWithOnes: true) is { } larger)
        {
            yield return larger;
        }
    }

    /// <summary>What to do about a load failure whose cause is this machine rather than the model, or "".</summary>
    internal static string LoadFailureHint(string message)
    {
        // StringNormalizer (e.g. skl2onnx's TfidfVectorizer) builds the C++ locale its 'locale' attribute names,
        // en_US.UTF-8 by default, and fails when the system does not have it.
        int at = message.IndexOf("Failed to construct locale with name:", StringComparison.Ordinal);
        if (at < 0)
        {
            return "";
        }

        string locale = message[(at + "Failed to construct locale with name:".Length)..].Split(':', ' ', '\n')[0];
        return $" (the model needs the system locale '{locale}': on Debian, apt-get install locales, enable it in /etc/locale.gen and run locale-gen)";
    }

    internal static SessionOptions CreateSessionOptions(OnnxBackendOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = options.IntraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };

        // Executors, not ORT's pool, are the parallelism: idle intra-op threads must not spin on shared cores.
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        return sessionOptions;
    }

    private static ModelMetadata ReadMetadata(InferenceSession session, string modelName, string fileName, Action<string> log)
    {
        var inputs = new List<TensorMetadata>();
        foreach (string inputName in session.InputNames)
        {
            NodeMetadata node = session.InputMetadata[inputName];
            if (!node.IsTensor || !OnnxTypes.TryToDataType(node.ElementDataType, out TensorDataType type))
            {
                throw new ModelLoadException(
                    $"{fileName}: input '{inputName}' is {(node.IsTensor ? node.ElementDataType.ToString() : node.OnnxValueType.ToString())}, which Sharpserve cannot serve (tensors of BOOL, INT/UINT 8-64, FP16/32/64 or strings only)");
            }

            inputs.Add(new TensorMetadata(inputName, type, Dims(node)));
        }

        var outputs = new List<TensorMetadata>();
        var skipped = new List<string>();
        foreach (string outputName in session.OutputNames)
        {
            NodeMetadata node = session.OutputMetadata[outputName];
            if (node.IsTensor && OnnxTypes.TryToDataType(node.ElementDataType, out TensorDataType type))
            {
                outputs.Add(new TensorMetadata(outputName, type, Dims(node)));
            }
            else
            {
                skipped.Add($"'{outputName}' ({(node.IsTensor ? node.ElementDataType.ToString() : node.OnnxValueType.ToString())})");
            }
        }

        if (outputs.Count == 0)
        {
            throw new ModelLoadException($"{fileName}: the model has no tensor output Sharpserve can return");
        }

        if (skipped.Count > 0)
        {
            // Typically skl2onnx's ZipMap; exporting with options={id(model): {"zipmap": False}} gives a tensor.
            log($"{fileName}: outputs {string.Join(", ", skipped)} are not tensors and are not served (a classifier exported by skl2onnx: pass zipmap=False)");
        }

        return new ModelMetadata(modelName, Platform, inputs, outputs);
    }

    /// <summary>
    /// A session reports a tensor the model declares without any shape as having no dimensions, like a scalar; the
    /// graph tells the two apart (<see cref="OnnxGraphSignature"/>), and such a tensor takes any rank.
    /// </summary>
    private static ModelMetadata WithAnyRank(ModelMetadata metadata, string path)
    {
        if (!metadata.Inputs.Any(t => t.Shape.Count == 0) && !metadata.Outputs.Any(t => t.Shape.Count == 0))
        {
            return metadata;
        }

        ModelMetadata graph = OnnxGraphSignature.Read(path, metadata.Name, metadata.Platform);
        return metadata with { Inputs = Merge(metadata.Inputs, graph.Inputs), Outputs = Merge(metadata.Outputs, graph.Outputs) };

        static TensorMetadata[] Merge(IReadOnlyList<TensorMetadata> session, IReadOnlyList<TensorMetadata> graph) =>
            [.. session.Select(t => t.Shape.Count == 0 && graph.FirstOrDefault(g => g.Name == t.Name) is { AnyRank: true }
                ? TensorMetadata.OfAnyRank(t.Name, t.DataType)
                : t)];
    }

    /// <summary>
    /// Dynamic input dimensions named alike (one dim_param, e.g. 'batch' on input_ids and attention_mask) must have one
    /// size in a request, as ONNX defines them. ONNX Runtime does not check it; a kernel that meets the mismatch fails
    /// with a status it does not call INVALID_ARGUMENT (a 500), so requests are checked against these pairs first.
    /// </summary>
    private static SharedDimension[] ReadSharedDimensions(InferenceSession session, ModelMetadata metadata)
    {
        var first = new Dictionary<string, (int Input, int Axis)>(StringComparer.Ordinal);
        var shared = new List<SharedDimension>();
        for (int input = 0; input < metadata.Inputs.Count; input++)
        {
            string[] symbols = session.InputMetadata[metadata.Inputs[input].Name].SymbolicDimensions;
            for (int axis = 0; axis < symbols.Length && axis < metadata.Inputs[input].Shape.Count; axis++)
            {
                if (string.IsNullOrEmpty(symbols[axis]) || metadata.Inputs[input].Shape[axis] >= 0)
                {
                    continue;
                }

                if (first.TryGetValue(symbols[axis], out (int Input, int Axis) earlier))
                {
                    shared.Add(new SharedDimension(input, axis, earlier.Input, earlier.Axis, symbols[axis]));
                }
                else
                {
                    first.Add(symbols[axis], (input, axis));
                }
            }
        }

        return [.. shared];
    }

    /// <summary>
    /// About the bytes of the model's weights: the .onnx file and its external data; a baked model's data file
    /// holds the raw weights and their prepacked copy (about the same size), so half of it counts.
    /// </summary>
    internal static long WeightBytes(OnnxModelFile file)
    {
        long external = ExternalBytes(file);
        return new FileInfo(file.Path).Length + (file.PrepackedBlobCount > 0 ? external / 2 : external);
    }

    /// <summary>Bytes of the external-data files the model's tensors name (what sessions map, shared).</summary>
    internal static long ExternalBytes(OnnxModelFile file)
    {
        long bytes = 0;
        foreach (string external in file.ExternalFiles)
        {
            bytes += new FileInfo(external).Length;
        }

        return bytes;
    }

    private static long[] Dims(NodeMetadata node)
    {
        int[] dims = node.Dimensions;
        long[] shape = new long[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            shape[i] = dims[i] < 0 ? -1 : dims[i];
        }

        return shape;
    }

    /// <summary>The first warm-up candidate; a process-mode front, which has no session to try them, sends this one.</summary>
    internal static InferenceRequest MakeWarmupRequest(ModelMetadata metadata) => MakeWarmupRequest(metadata, dynamicSize: 1, fillWithOnes: false)!;

    /// <summary>Largest tensor a candidate with larger dynamic dimensions may have: it must stay cheap to run.</summary>
    private const long MaxWarmupElements = 1 << 16;

    /// <summary>Every dynamic dimension <paramref name="dynamicSize"/>; null when a tensor would exceed <see cref="MaxWarmupElements"/>.</summary>
    private static InferenceRequest? MakeWarmupRequest(ModelMetadata metadata, int dynamicSize, bool fillWithOnes)
    {
        var tensors = new List<Tensor>();
        Span<byte> one = stackalloc byte[8];
        foreach (TensorMetadata input in metadata.Inputs)
        {
            long[] shape = new long[input.Shape.Count];
            long elements = 1;
            for (int i = 0; i < shape.Length; i++)
            {
                shape[i] = input.Shape[i] < 0 ? dynamicSize : input.Shape[i];
                elements = checked(elements * shape[i]);
            }

            if (dynamicSize > 1 && elements > MaxWarmupElements)
            {
                return null;
            }

            if (input.DataType == TensorDataType.Bytes)
            {
                var strings = new byte[elements][];
                Array.Fill(strings, "a"u8.ToArray());
                tensors.Add(Tensor.FromBytes(input.Name, shape, strings));
            }
            else
            {
                int size = input.DataType.ElementSize();
                byte[] data = new byte[checked(elements * size)];
                if (fillWithOnes)
                {
                    WriteOne(one[..size], input.DataType);
                    for (int offset = 0; offset < data.Length; offset += size)
                    {
                        one[..size].CopyTo(data.AsSpan(offset));
                    }
                }

                tensors.Add(Tensor.FromRaw(input.Name, input.DataType, shape, data));
            }
        }

        return new InferenceRequest(tensors, InferenceParameters.Default);
    }

    /// <summary>Writes the value 1 of <paramref name="type"/> in little-endian order.</summary>
    private static void WriteOne(Span<byte> element, TensorDataType type)
    {
        switch (type)
        {
            case TensorDataType.Fp16:
                BinaryPrimitives.WriteHalfLittleEndian(element, Half.One);
                break;
            case TensorDataType.Fp32:
                BinaryPrimitives.WriteSingleLittleEndian(element, 1f);
                break;
            case TensorDataType.Fp64:
                BinaryPrimitives.WriteDoubleLittleEndian(element, 1d);
                break;
            default:
                element.Clear();
                element[0] = 1; // every integer type and BOOL: 1 is its lowest byte
                break;
        }
    }

    public IModelSession CreateSession() => new OnnxSession(this);

    public void Dispose() => _session.Dispose();
}
