using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Inference;

namespace Sharpserve.GrpcTests;

/// <summary>
/// Builds gRPC inputs from an OIP JSON tensor (the committed expected.json files) in both forms, and reads raw
/// outputs back as text per element, written as the reference JSON writes them.
/// </summary>
internal static class GrpcTensors
{
    public static ModelInferRequest.Types.InferInputTensor Input(JsonElement tensor, bool typed)
    {
        var input = new ModelInferRequest.Types.InferInputTensor
        {
            Name = tensor.GetProperty("name").GetString(),
            Datatype = tensor.GetProperty("datatype").GetString(),
        };
        foreach (JsonElement dim in tensor.GetProperty("shape").EnumerateArray())
        {
            input.Shape.Add(dim.GetInt64());
        }

        if (typed)
        {
            input.Contents = Contents(input.Datatype!, Flatten(tensor.GetProperty("data")));
        }

        return input;
    }

    public static InferTensorContents Contents(string datatype, List<JsonElement> values)
    {
        var contents = new InferTensorContents();
        foreach (JsonElement v in values)
        {
            switch (datatype)
            {
                case "BOOL": contents.BoolContents.Add(v.GetBoolean()); break;
                case "INT8" or "INT16" or "INT32": contents.IntContents.Add(v.GetInt32()); break;
                case "INT64": contents.Int64Contents.Add(v.GetInt64()); break;
                case "UINT8" or "UINT16" or "UINT32": contents.UintContents.Add(v.GetUInt32()); break;
                case "UINT64": contents.Uint64Contents.Add(v.GetUInt64()); break;
                case "FP32": contents.Fp32Contents.Add(v.GetSingle()); break;
                case "FP64": contents.Fp64Contents.Add(v.GetDouble()); break;
                case "BYTES": contents.BytesContents.Add(ByteString.CopyFromUtf8(v.GetString())); break;
                default: throw new ArgumentException($"{datatype} has no typed contents", nameof(datatype));
            }
        }

        return contents;
    }

    /// <summary>Triton's raw layout: little-endian elements; BYTES as a 4-byte little-endian length and the bytes.</summary>
    public static ByteString Raw(string datatype, List<JsonElement> values)
    {
        using var stream = new MemoryStream();
        Span<byte> buffer = stackalloc byte[8];
        foreach (JsonElement v in values)
        {
            int size;
            switch (datatype)
            {
                case "BOOL": buffer[0] = v.GetBoolean() ? (byte)1 : (byte)0; size = 1; break;
                case "INT8": buffer[0] = (byte)v.GetSByte(); size = 1; break;
                case "UINT8": buffer[0] = v.GetByte(); size = 1; break;
                case "INT16": BinaryPrimitives.WriteInt16LittleEndian(buffer, v.GetInt16()); size = 2; break;
                case "UINT16": BinaryPrimitives.WriteUInt16LittleEndian(buffer, v.GetUInt16()); size = 2; break;
                case "INT32": BinaryPrimitives.WriteInt32LittleEndian(buffer, v.GetInt32()); size = 4; break;
                case "UINT32": BinaryPrimitives.WriteUInt32LittleEndian(buffer, v.GetUInt32()); size = 4; break;
                case "INT64": BinaryPrimitives.WriteInt64LittleEndian(buffer, v.GetInt64()); size = 8; break;
                case "UINT64": BinaryPrimitives.WriteUInt64LittleEndian(buffer, v.GetUInt64()); size = 8; break;
                case "FP16": BinaryPrimitives.WriteHalfLittleEndian(buffer, (Half)v.GetDouble()); size = 2; break;
                case "FP32": BinaryPrimitives.WriteSingleLittleEndian(buffer, v.GetSingle()); size = 4; break;
                case "FP64": BinaryPrimitives.WriteDoubleLittleEndian(buffer, v.GetDouble()); size = 8; break;
                case "BYTES":
                    byte[] text = Encoding.UTF8.GetBytes(v.GetString()!);
                    BinaryPrimitives.WriteInt32LittleEndian(buffer, text.Length);
                    stream.Write(buffer[..4]);
                    stream.Write(text);
                    continue;
                default: throw new ArgumentException($"unknown datatype {datatype}", nameof(datatype));
            }

            stream.Write(buffer[..size]);
        }

        return ByteString.CopyFrom(stream.ToArray());
    }

    /// <summary>The elements of a raw output: integers and BYTES as text, floats as doubles, BOOL as true/false.</summary>
    public static List<object> ReadRaw(string datatype, ByteString raw)
    {
        ReadOnlySpan<byte> bytes = raw.Span;
        var values = new List<object>();
        int offset = 0;
        while (offset < bytes.Length)
        {
            ReadOnlySpan<byte> at = bytes[offset..];
            (object value, int size) = datatype switch
            {
                "BOOL" => ((object)(at[0] != 0), 1),
                "INT8" => (((sbyte)at[0]).ToString(CultureInfo.InvariantCulture), 1),
                "UINT8" => (at[0].ToString(CultureInfo.InvariantCulture), 1),
                "INT16" => (BinaryPrimitives.ReadInt16LittleEndian(at).ToString(CultureInfo.InvariantCulture), 2),
                "UINT16" => (BinaryPrimitives.ReadUInt16LittleEndian(at).ToString(CultureInfo.InvariantCulture), 2),
                "INT32" => (BinaryPrimitives.ReadInt32LittleEndian(at).ToString(CultureInfo.InvariantCulture), 4),
                "UINT32" => (BinaryPrimitives.ReadUInt32LittleEndian(at).ToString(CultureInfo.InvariantCulture), 4),
                "INT64" => (BinaryPrimitives.ReadInt64LittleEndian(at).ToString(CultureInfo.InvariantCulture), 8),
                "UINT64" => (BinaryPrimitives.ReadUInt64LittleEndian(at).ToString(CultureInfo.InvariantCulture), 8),
                "FP16" => ((double)BinaryPrimitives.ReadHalfLittleEndian(at), 2),
                "FP32" => ((double)BinaryPrimitives.ReadSingleLittleEndian(at), 4),
                "FP64" => (BinaryPrimitives.ReadDoubleLittleEndian(at), 8),
                "BYTES" => (Encoding.UTF8.GetString(at.Slice(4, BinaryPrimitives.ReadInt32LittleEndian(at))), 4 + BinaryPrimitives.ReadInt32LittleEndian(at)),
                _ => throw new ArgumentException($"unknown datatype {datatype}", nameof(datatype)),
            };
            values.Add(value);
            offset += size;
        }

        return values;
    }

    /// <summary>An expected JSON element in the form <see cref="ReadRaw"/> gives.</summary>
    public static object Expected(string datatype, JsonElement v) => datatype switch
    {
        "BOOL" => v.GetBoolean(),
        "FP16" => (double)(Half)v.GetDouble(),
        "FP32" => (double)v.GetSingle(),
        "FP64" => v.GetDouble(),
        "BYTES" => v.GetString()!,
        _ => v.GetRawText(),
    };

    public static List<JsonElement> Flatten(JsonElement data)
    {
        var flat = new List<JsonElement>();
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement item in e.EnumerateArray())
                {
                    Walk(item);
                }
            }
            else
            {
                flat.Add(e);
            }
        }

        Walk(data);
        return flat;
    }
}
