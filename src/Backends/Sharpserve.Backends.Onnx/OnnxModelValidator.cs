using System.Text;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Checks an ONNX model file before ONNX Runtime (native code) sees it. The file is untrusted: it is parsed here
/// with a bounds-checked protobuf reader, every tensor that keeps its data in an external file is found (graph
/// initializers, sparse initializers, tensor attributes of nodes, in subgraphs, functions and training info),
/// and its location must be a relative path without "..", not one of ONNX Runtime's special markers (such as
/// <c>*/_ORT_MEM_ADDR_/*</c>, which makes the offset a raw memory address), and must resolve, through symlinks,
/// to a regular file inside the model's folder; the declared offset and length must lie within that file and
/// agree with the tensor's shape. Anything else is refused with a <see cref="ModelLoadException"/> naming the file
/// and the tensor.
/// </summary>
internal static partial class OnnxModelValidator
{
    private const int MaxNesting = 64;

    public static OnnxModelFile Validate(string path)
    {
        string fullPath = System.IO.Path.GetFullPath(path);
        string name = System.IO.Path.GetFileName(fullPath);
        string modelDirectory = RealPath(System.IO.Path.GetDirectoryName(fullPath)!)
            ?? throw new ModelLoadException($"{name}: cannot resolve the model's folder");
        var state = new State(name, modelDirectory);
        OnnxFileMapping.Parse(fullPath, data =>
        {
            WalkModel(data, state);
            return true;
        });

        if (!state.SawGraph)
        {
            throw new ModelLoadException($"{name}: not an ONNX model (no graph)");
        }

        return new OnnxModelFile(fullPath, [.. state.Files.Keys], state.ExternalTensors, state.PrepackedBlobs);
    }

    /// <summary>Cheap check for <c>CanLoad</c>: the first field of the file is a ModelProto field with the right wire type.</summary>
    public static bool LooksLikeModelProto(ReadOnlySpan<byte> head)
    {
        var reader = new ProtobufReader(head);
        if (!reader.TryReadField())
        {
            // Writers put ir_version (field 1, a varint) first, so the first field fits in the head; a first
            // field cut off by the head's end is not accepted.
            return false;
        }

        return reader.FieldNumber switch
        {
            1 or 5 => reader.WireType == ProtobufReader.WireVarint,
            2 or 3 or 4 or 6 or 7 or 8 or 14 or 20 or 25 => reader.WireType == ProtobufReader.WireLengthDelimited,
            _ => false,
        };
    }

    private static void WalkModel(ReadOnlySpan<byte> model, State state)
    {
        var reader = new ProtobufReader(model);
        while (reader.TryReadField())
        {
            if (reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            switch (reader.FieldNumber)
            {
                case 7:
                    state.SawGraph = true;
                    WalkGraph(reader.Bytes, state, 0);
                    break;
                case 20: // TrainingInfoProto: initialization (1) and algorithm (2) graphs
                    WalkGraphFields(reader.Bytes, state, 0, 1, 2);
                    break;
                case 25: // FunctionProto: node (7), attribute_proto (11)
                    WalkFunction(reader.Bytes, state, 0);
                    break;
            }
        }

        CheckReader(in reader, state, "the model");
    }

    private static void WalkGraphFields(ReadOnlySpan<byte> message, State state, int depth, int first, int second)
    {
        var reader = new ProtobufReader(message);
        while (reader.TryReadField())
        {
            if (reader.WireType == ProtobufReader.WireLengthDelimited && (reader.FieldNumber == first || reader.FieldNumber == second))
            {
                WalkGraph(reader.Bytes, state, depth + 1);
            }
        }

        CheckReader(in reader, state, "training info");
    }

    private static void WalkFunction(ReadOnlySpan<byte> function, State state, int depth)
    {
        var reader = new ProtobufReader(function);
        while (reader.TryReadField())
        {
            if (reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            if (reader.FieldNumber == 7)
            {
                WalkNode(reader.Bytes, state, depth + 1);
            }
            else if (reader.FieldNumber == 11)
            {
                WalkAttribute(reader.Bytes, state, depth + 1);
            }
        }

        CheckReader(in reader, state, "a function");
    }

    private static void WalkGraph(ReadOnlySpan<byte> graph, State state, int depth)
    {
        CheckDepth(depth, state);
        var reader = new ProtobufReader(graph);
        while (reader.TryReadField())
        {
            if (reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            switch (reader.FieldNumber)
            {
                case 1:
                    WalkNode(reader.Bytes, state, depth + 1);
                    break;
                case 5:
                    CheckTensor(reader.Bytes, state);
                    break;
                case 15:
                    WalkSparseTensor(reader.Bytes, state);
                    break;
            }
        }

        CheckReader(in reader, state, "a graph");
    }

    private static void WalkNode(ReadOnlySpan<byte> node, State state, int depth)
    {
        CheckDepth(depth, state);
        var reader = new ProtobufReader(node);
        while (reader.TryReadField())
        {
            if (reader.WireType == ProtobufReader.WireLengthDelimited && reader.FieldNumber == 5)
            {
                WalkAttribute(reader.Bytes, state, depth + 1);
            }
        }

        CheckReader(in reader, state, "a node");
    }

    private static void WalkAttribute(ReadOnlySpan<byte> attribute, State state, int depth)
    {
        CheckDepth(depth, state);
        var reader = new ProtobufReader(attribute);
        while (reader.TryReadField())
        {
            if (reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            switch (reader.FieldNumber)
            {
                case 5 or 10: // t, tensors
                    CheckTensor(reader.Bytes, state);
                    break;
                case 6 or 11: // g, graphs
                    WalkGraph(reader.Bytes, state, depth + 1);
                    break;
                case 22 or 23: // sparse_tensor, sparse_tensors
                    WalkSparseTensor(reader.Bytes, state);
                    break;
            }
        }

        CheckReader(in reader, state, "an attribute");
    }

    private static void WalkSparseTensor(ReadOnlySpan<byte> sparse, State state)
    {
        var reader = new ProtobufReader(sparse);
        while (reader.TryReadField())
        {
            if (reader.WireType == ProtobufReader.WireLengthDelimited && reader.FieldNumber is 1 or 2)
            {
                CheckTensor(reader.Bytes, state);
            }
        }

        CheckReader(in reader, state, "a sparse tensor");
    }

    private static void CheckTensor(ReadOnlySpan<byte> tensor, State state)
    {
        var reader = new ProtobufReader(tensor);
        string tensorName = "?";
        long dataType = 0;
        bool external = false;
        var dims = new List<long>();
        var entries = new List<(string Key, string Value)>();
        bool dimsValid = true;
        while (reader.TryReadField())
        {
            switch (reader.FieldNumber)
            {
                case 1 when reader.WireType == ProtobufReader.WireVarint:
                    dims.Add((long)reader.Varint);
                    break;
                case 1 when reader.WireType == ProtobufReader.WireLengthDelimited:
                    dimsValid &= ProtobufReader.TryReadPackedVarints(reader.Bytes, dims);
                    break;
                case 2 when reader.WireType == ProtobufReader.WireVarint:
                    dataType = (long)reader.Varint;
                    break;
                case 8 when reader.WireType == ProtobufReader.WireLengthDelimited:
                    tensorName = Encoding.UTF8.GetString(reader.Bytes);
                    break;
                case 13 when reader.WireType == ProtobufReader.WireLengthDelimited:
                    entries.Add(ReadEntry(reader.Bytes, state));
                    break;
                case 14 when reader.WireType == ProtobufReader.WireVarint:
                    external = reader.Varint == 1;
                    break;
            }
        }

        CheckReader(in reader, state, $"tensor '{tensorName}'");
        if (!external && entries.Count == 0)
        {
            return;
        }

        if (!external)
        {
            throw state.Refuse($"tensor '{tensorName}' has external_data entries but is not marked EXTERNAL");
        }

        if (!dimsValid)
        {
            throw state.Refuse($"tensor '{tensorName}' has malformed dims");
        }

        CheckExternalData(tensorName, dataType, dims, entries, state);
    }

    private static (string Key, string Value) ReadEntry(ReadOnlySpan<byte> entry, State state)
    {
        var reader = new ProtobufReader(entry);
        string key = "";
        string value = "";
        while (reader.TryReadField())
        {
            if (reader.WireType == ProtobufReader.WireLengthDelimited)
            {
                if (reader.FieldNumber == 1)
                {
                    key = Encoding.UTF8.GetString(reader.Bytes);
                }
                else if (reader.FieldNumber == 2)
                {
                    value = Encoding.UTF8.GetString(reader.Bytes);
                }
            }
        }

        CheckReader(in reader, state, "an external_data entry");
        return (key, value);
    }

    private static void CheckDepth(int depth, State state)
    {
        if (depth > MaxNesting)
        {
            throw state.Refuse($"subgraphs nest deeper than {MaxNesting}");
        }
    }

    private static void CheckReader(in ProtobufReader reader, State state, string what)
    {
        if (reader.Failed)
        {
            throw state.Refuse($"corrupt protobuf in {what}; not a valid ONNX model");
        }
    }

    private sealed class State(string name, string modelDirectory)
    {
        public string Name { get; } = name;

        public string ModelDirectory { get; } = modelDirectory;

        public bool SawGraph { get; set; }

        public int ExternalTensors { get; set; }

        public int PrepackedBlobs { get; set; }

        public Dictionary<string, long> Files { get; } = new(StringComparer.Ordinal);

        public long FileLength(string resolvedPath)
        {
            if (!Files.TryGetValue(resolvedPath, out long length))
            {
                length = new FileInfo(resolvedPath).Length;
                Files[resolvedPath] = length;
            }

            return length;
        }

        public ModelLoadException Refuse(string problem) => new($"{Name}: {problem}");
    }
}
