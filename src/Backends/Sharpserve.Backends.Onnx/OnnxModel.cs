using Microsoft.ML.OnnxRuntime;
using Sharpserve.Abstractions;
using ModelMetadata = Sharpserve.Abstractions.ModelMetadata;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// A loaded ONNX model: one <see cref="InferenceSession"/> shared by every executor (its Run is thread-safe), the
/// metadata read from it (names, datatypes, shapes with -1 for dynamic axes), and warm-up requests synthesised
/// from that metadata (dynamic dimensions 1, zeros, one-character strings).
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

    public IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    public long MappedBytes { get; }

    public OnnxBackendOptions Options { get; }

    /// <summary>How this model's weights are held (the fallback shows here as NoPrepack).</summary>
    public OnnxWeightSharing Sharing { get; }

    /// <summary>Anonymous memory the process grew by while the session was created (weights copied, arenas).</summary>
    public long SessionAnonymousBytes { get; }

    internal InferenceSession Session => _session;

    internal string[] OutputNames { get; }

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
                throw new ModelLoadException($"{name}: ONNX Runtime cannot load the model: {e.Message}", e);
            }
        }

        try
        {
            ModelMetadata metadata = ReadMetadata(session, modelName, name, options.Log);
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

            return new OnnxModel(session, metadata, options, mapped, sharing, anonymous);
        }
        catch
        {
            session.Dispose();
            throw;
        }
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

    internal static InferenceRequest MakeWarmupRequest(ModelMetadata metadata)
    {
        var tensors = new List<Tensor>();
        foreach (TensorMetadata input in metadata.Inputs)
        {
            long[] shape = new long[input.Shape.Count];
            long elements = 1;
            for (int i = 0; i < shape.Length; i++)
            {
                shape[i] = input.Shape[i] < 0 ? 1 : input.Shape[i];
                elements = checked(elements * shape[i]);
            }

            if (input.DataType == TensorDataType.Bytes)
            {
                var strings = new byte[elements][];
                Array.Fill(strings, "a"u8.ToArray());
                tensors.Add(Tensor.FromBytes(input.Name, shape, strings));
            }
            else
            {
                tensors.Add(Tensor.FromRaw(input.Name, input.DataType, shape, new byte[checked(elements * input.DataType.ElementSize())]));
            }
        }

        return new InferenceRequest(tensors, InferenceParameters.Default);
    }

    public IModelSession CreateSession() => new OnnxSession(this);

    public void Dispose() => _session.Dispose();
}
