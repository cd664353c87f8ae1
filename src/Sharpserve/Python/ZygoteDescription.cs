using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Sharpserve.Abstractions;

namespace Sharpserve.Python;

/// <summary>
/// Turns a zygote's <c>loaded</c> event into what the front serves a model by: its OIP metadata (platform
/// <c>python</c>) and its warm-up requests. Anything malformed is a protocol error of the zygote.
/// </summary>
internal static class ZygoteDescription
{
    public const string Platform = "python";

    /// <exception cref="ModelLoadException">The event's metadata or warm-up inputs are malformed.</exception>
    public static ModelDescription From(ZygoteEvent loaded, string name)
    {
        ArgumentNullException.ThrowIfNull(loaded);
        try
        {
            ZygoteMetadata metadata = loaded.Metadata ?? throw new FormatException("no metadata");
            var inputs = Specs(metadata.Inputs, "inputs");
            var outputs = Specs(metadata.Outputs, "outputs");
            var warmup = new List<InferenceRequest>();
            foreach (List<ZygoteTensor> request in loaded.Warmup ?? [])
            {
                warmup.Add(new InferenceRequest([.. request.Select(ToTensor)], InferenceParameters.Default));
            }

            return new ModelDescription(new ModelMetadata(name, Platform, inputs, outputs), warmup, MappedBytes: 0);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or OverflowException or ArgumentException)
        {
            throw new ModelLoadException($"the Python zygote reported malformed metadata or warm-up inputs: {e.Message}", e);
        }
    }

    /// <summary>The default contract (docs/python-backend.md 6.1): a BYTES input `text`, outputs `label` or `json`.</summary>
    public static bool IsDefaultContract(ModelMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return metadata.Platform == Platform &&
            metadata.Inputs is [{ Name: "text", DataType: TensorDataType.Bytes }] &&
            metadata.FindOutput("label") is { DataType: TensorDataType.Bytes } &&
            metadata.FindOutput("json") is { DataType: TensorDataType.Bytes };
    }

    private static List<TensorMetadata> Specs(List<ZygoteTensorSpec>? specs, string what)
    {
        if (specs is null || specs.Count == 0)
        {
            throw new FormatException($"no {what}");
        }

        var result = new List<TensorMetadata>(specs.Count);
        foreach (ZygoteTensorSpec spec in specs)
        {
            result.Add(new TensorMetadata(
                spec.Name ?? throw new FormatException($"one of the {what} has no name"),
                DataType(spec.Datatype),
                spec.Shape ?? throw new FormatException($"{what} '{spec.Name}' has no shape")));
        }

        return result;
    }

    private static TensorDataType DataType(string? name) =>
        name is not null && TensorDataTypes.TryParse(Encoding.UTF8.GetBytes(name), out TensorDataType type)
            ? type
            : throw new FormatException($"unknown datatype '{name}'");

    private static Tensor ToTensor(ZygoteTensor input)
    {
        string name = input.Name ?? throw new FormatException("a warm-up input has no name");
        TensorDataType type = DataType(input.Datatype);
        long[] shape = [.. input.Shape ?? throw new FormatException($"warm-up input '{name}' has no shape")];
        JsonElement[] data = input.Data.ValueKind == JsonValueKind.Array
            ? [.. input.Data.EnumerateArray()]
            : throw new FormatException($"warm-up input '{name}' has no data list");
        if (type == TensorDataType.Bytes)
        {
            return Tensor.FromBytes(name, shape, [.. data.Select(e => Convert.FromBase64String(e.GetString() ?? ""))]);
        }

        int size = type.ElementSize();
        byte[] raw = new byte[data.Length * size];
        for (int i = 0; i < data.Length; i++)
        {
            Span<byte> slot = raw.AsSpan(i * size, size);
            JsonElement e = data[i];
            switch (type)
            {
                case TensorDataType.Bool: slot[0] = e.GetBoolean() ? (byte)1 : (byte)0; break;
                case TensorDataType.UInt8: slot[0] = e.GetByte(); break;
                case TensorDataType.Int8: slot[0] = (byte)e.GetSByte(); break;
                case TensorDataType.UInt16: BinaryPrimitives.WriteUInt16LittleEndian(slot, e.GetUInt16()); break;
                case TensorDataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(slot, e.GetInt16()); break;
                case TensorDataType.UInt32: BinaryPrimitives.WriteUInt32LittleEndian(slot, e.GetUInt32()); break;
                case TensorDataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(slot, e.GetInt32()); break;
                case TensorDataType.UInt64: BinaryPrimitives.WriteUInt64LittleEndian(slot, e.GetUInt64()); break;
                case TensorDataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(slot, e.GetInt64()); break;
                case TensorDataType.Fp16: BinaryPrimitives.WriteHalfLittleEndian(slot, (Half)e.GetDouble()); break;
                case TensorDataType.Fp32: BinaryPrimitives.WriteSingleLittleEndian(slot, e.GetSingle()); break;
                case TensorDataType.Fp64: BinaryPrimitives.WriteDoubleLittleEndian(slot, e.GetDouble()); break;
                default: throw new FormatException($"datatype {type} in warm-up input '{name}'");
            }
        }

        return Tensor.FromRaw(name, type, shape, raw);
    }
}
