using System.Text;
using Microsoft.ML.OnnxRuntime.Tensors;
using Sharpserve.Abstractions;

namespace Sharpserve.Backends.Onnx;

/// <summary>
/// Reads a model's inputs and outputs (names, element types, shapes) from the ONNX protobuf itself, without ONNX
/// Runtime: what a process-mode front needs to describe a model its workers run, at the cost of reading the graph
/// rather than creating a session (which faults in every weight page). It follows ONNX Runtime's own rules, so the
/// result equals the metadata of a session on the same file: graph inputs that are also initializers are not
/// inputs, a dimension without a value (symbolic or unknown) is -1, and outputs that are not tensors (e.g. a
/// ZipMap's sequence of maps) are left out. One difference: a tensor without shape information takes any rank
/// (<see cref="TensorMetadata.AnyRank"/>), where a session reports it as a scalar.
/// </summary>
internal static class OnnxGraphSignature
{
    private const int GraphField = 7;
    private const int GraphInitializer = 5;
    private const int GraphInput = 11;
    private const int GraphOutput = 12;
    private const int GraphSparseInitializer = 15;

    /// <summary>The protobuf view of one graph input or output.</summary>
    private sealed record ValueInfo(string Name, bool IsTensor, int ElementType, long[]? Shape);

    /// <exception cref="ModelLoadException">The file cannot be read or its graph is malformed.</exception>
    public static ModelMetadata Read(string path, string modelName, string platform)
    {
        string fileName = Path.GetFileName(path);
        return OnnxFileMapping.Parse(Path.GetFullPath(path), model => Read(model, fileName, modelName, platform));
    }

    /// <summary>Reads the signature from the bytes of a ModelProto; <paramref name="fileName"/> names it in errors.</summary>
    public static ModelMetadata Read(ReadOnlySpan<byte> model, string fileName, string modelName, string platform)
    {
        var reader = new ProtobufReader(model);
        ReadOnlySpan<byte> graph = default;
        bool sawGraph = false;
        while (reader.TryReadField())
        {
            if (reader.FieldNumber == GraphField && reader.WireType == ProtobufReader.WireLengthDelimited)
            {
                graph = reader.Bytes; // protobuf: the last occurrence of a singular field wins
                sawGraph = true;
            }
        }

        Check(in reader, fileName, "the model");
        if (!sawGraph)
        {
            throw new ModelLoadException($"{fileName}: not an ONNX model (no graph)");
        }

        var initializers = new HashSet<string>(StringComparer.Ordinal);
        var inputs = new List<ValueInfo>();
        var outputs = new List<ValueInfo>();
        var graphReader = new ProtobufReader(graph);
        while (graphReader.TryReadField())
        {
            if (graphReader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            switch (graphReader.FieldNumber)
            {
                case GraphInitializer:
                    initializers.Add(ReadString(graphReader.Bytes, 8, fileName)); // TensorProto.name
                    break;
                case GraphSparseInitializer:
                    initializers.Add(ReadSparseName(graphReader.Bytes, fileName));
                    break;
                case GraphInput:
                    inputs.Add(ReadValueInfo(graphReader.Bytes, fileName));
                    break;
                case GraphOutput:
                    outputs.Add(ReadValueInfo(graphReader.Bytes, fileName));
                    break;
            }
        }

        Check(in graphReader, fileName, "the graph");
        var inputMetadata = new List<TensorMetadata>();
        foreach (ValueInfo input in inputs)
        {
            if (initializers.Contains(input.Name))
            {
                continue;
            }

            if (!input.IsTensor || !OnnxTypes.TryToDataType((TensorElementType)input.ElementType, out TensorDataType type))
            {
                throw new ModelLoadException(
                    $"{fileName}: input '{input.Name}' is {(input.IsTensor ? "a tensor of ONNX element type " + input.ElementType : "not a tensor")}, which Sharpserve cannot serve (tensors of BOOL, INT/UINT 8-64, FP16/32/64 or strings only)");
            }

            inputMetadata.Add(Tensor(input, type));
        }

        var outputMetadata = new List<TensorMetadata>();
        foreach (ValueInfo output in outputs)
        {
            if (output.IsTensor && OnnxTypes.TryToDataType((TensorElementType)output.ElementType, out TensorDataType type))
            {
                outputMetadata.Add(Tensor(output, type));
            }
        }

        if (outputMetadata.Count == 0)
        {
            throw new ModelLoadException($"{fileName}: the model has no tensor output Sharpserve can return");
        }

        return new ModelMetadata(modelName, platform, inputMetadata, outputMetadata);
    }

    /// <summary>
    /// A tensor type without 'shape' takes any rank. ONNX Runtime's metadata cannot say so (it reports no
    /// dimensions, as for a scalar), so <see cref="OnnxModel"/> takes this from here.
    /// </summary>
    private static TensorMetadata Tensor(ValueInfo value, TensorDataType type) =>
        value.Shape is null ? TensorMetadata.OfAnyRank(value.Name, type) : new TensorMetadata(value.Name, type, value.Shape);

    private static ValueInfo ReadValueInfo(ReadOnlySpan<byte> message, string fileName)
    {
        var reader = new ProtobufReader(message);
        string name = "";
        ReadOnlySpan<byte> type = default;
        while (reader.TryReadField())
        {
            if (reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            if (reader.FieldNumber == 1)
            {
                name = Encoding.UTF8.GetString(reader.Bytes);
            }
            else if (reader.FieldNumber == 2)
            {
                type = reader.Bytes;
            }
        }

        Check(in reader, fileName, "a graph input or output");

        // TypeProto: tensor_type (1) is a TypeProto.Tensor { elem_type (1), shape (2) }; anything else is not a tensor.
        var typeReader = new ProtobufReader(type);
        ReadOnlySpan<byte> tensorType = default;
        bool isTensor = false;
        while (typeReader.TryReadField())
        {
            if (typeReader.FieldNumber == 1 && typeReader.WireType == ProtobufReader.WireLengthDelimited)
            {
                tensorType = typeReader.Bytes;
                isTensor = true;
            }
        }

        Check(in typeReader, fileName, $"the type of '{name}'");
        if (!isTensor)
        {
            return new ValueInfo(name, false, 0, []);
        }

        var tensorReader = new ProtobufReader(tensorType);
        int elementType = 0;
        long[]? shape = null;
        while (tensorReader.TryReadField())
        {
            if (tensorReader.FieldNumber == 1 && tensorReader.WireType == ProtobufReader.WireVarint)
            {
                elementType = (int)Math.Min(tensorReader.Varint, int.MaxValue);
            }
            else if (tensorReader.FieldNumber == 2 && tensorReader.WireType == ProtobufReader.WireLengthDelimited)
            {
                shape = ReadShape(tensorReader.Bytes, fileName, name);
            }
        }

        Check(in tensorReader, fileName, $"the type of '{name}'");
        return new ValueInfo(name, true, elementType, shape);
    }

    private static long[] ReadShape(ReadOnlySpan<byte> message, string fileName, string tensorName)
    {
        var dims = new List<long>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadField())
        {
            if (reader.FieldNumber != 1 || reader.WireType != ProtobufReader.WireLengthDelimited)
            {
                continue;
            }

            // Dimension: dim_value (1) or dim_param (2); without a non-negative value ONNX Runtime reports -1.
            long dim = -1;
            var dimReader = new ProtobufReader(reader.Bytes);
            while (dimReader.TryReadField())
            {
                if (dimReader.WireType == ProtobufReader.WireVarint && dimReader.FieldNumber == 1)
                {
                    dim = (long)dimReader.Varint;
                }
                else if (dimReader.FieldNumber == 2)
                {
                    dim = -1;
                }
            }

            Check(in dimReader, fileName, $"the shape of '{tensorName}'");
            dims.Add(dim < 0 ? -1 : dim);
        }

        Check(in reader, fileName, $"the shape of '{tensorName}'");
        return [.. dims];
    }

    private static string ReadString(ReadOnlySpan<byte> message, int field, string fileName)
    {
        var reader = new ProtobufReader(message);
        string value = "";
        while (reader.TryReadField())
        {
            if (reader.FieldNumber == field && reader.WireType == ProtobufReader.WireLengthDelimited)
            {
                value = Encoding.UTF8.GetString(reader.Bytes);
            }
        }

        Check(in reader, fileName, "an initializer");
        return value;
    }

    private static string ReadSparseName(ReadOnlySpan<byte> message, string fileName)
    {
        // SparseTensorProto: values (1) is a TensorProto whose name is the initializer's name.
        var reader = new ProtobufReader(message);
        string name = "";
        while (reader.TryReadField())
        {
            if (reader.FieldNumber == 1 && reader.WireType == ProtobufReader.WireLengthDelimited)
            {
                name = ReadString(reader.Bytes, 8, fileName);
            }
        }

        Check(in reader, fileName, "a sparse initializer");
        return name;
    }

    private static void Check(in ProtobufReader reader, string fileName, string what)
    {
        if (reader.Failed)
        {
            throw new ModelLoadException($"{fileName}: malformed protobuf in {what}");
        }
    }
}
