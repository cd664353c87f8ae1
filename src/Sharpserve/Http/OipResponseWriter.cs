using System.Buffers;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Http;

/// <summary>
/// Writes Open Inference Protocol JSON bodies straight into the response's buffer writer; an infer answer with binary
/// outputs is its JSON then their binary data (docs/binary-tensor-extension.md).
/// </summary>
internal static class OipResponseWriter
{
    public static void WriteInferResponse(Utf8JsonWriter writer, ServedModel model, OipInferRequest request, InferenceResponse response)
    {
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, model.Name);
        writer.WriteString("model_version"u8, model.Version);
        if (request.Id is not null)
        {
            writer.WriteString("id"u8, request.Id);
        }

        writer.WriteStartArray("outputs"u8);
        foreach (Tensor output in response.Outputs)
        {
            if (!IsSelected(request, output))
            {
                continue;
            }

            if (request.IsBinary(output.Name))
            {
                WriteBinaryTensorHeader(writer, output);
            }
            else
            {
                WriteTensor(writer, output);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Whether the answer carries binary data, so it needs the Inference-Header-Content-Length header.</summary>
    public static bool HasBinaryOutput(OipInferRequest request, InferenceResponse response)
    {
        foreach (Tensor output in response.Outputs)
        {
            if (IsSelected(request, output) && request.IsBinary(output.Name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The binary data that follows the JSON: the binary outputs' blobs, in the order the JSON lists them.</summary>
    public static void WriteBinaryData(IBufferWriter<byte> writer, OipInferRequest request, InferenceResponse response)
    {
        foreach (Tensor output in response.Outputs)
        {
            if (IsSelected(request, output) && request.IsBinary(output.Name))
            {
                OipBinaryTensorWriter.Write(writer, output);
            }
        }
    }

    /// <summary>A binary output in the JSON: no 'data', its size in <c>parameters.binary_data_size</c>.</summary>
    private static void WriteBinaryTensorHeader(Utf8JsonWriter writer, Tensor tensor)
    {
        writer.WriteStartObject();
        WriteNameDataTypeShape(writer, tensor.Name, tensor.DataType, tensor.Shape);
        writer.WriteStartObject("parameters"u8);
        writer.WriteNumber("binary_data_size"u8, OipBinaryTensorWriter.ByteSize(tensor));
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static bool IsSelected(OipInferRequest request, Tensor output) =>
        request.RequestedOutputs is null || Contains(request.RequestedOutputs, output.Name);

    public static void WriteTensor(Utf8JsonWriter writer, Tensor tensor)
    {
        writer.WriteStartObject();
        WriteNameDataTypeShape(writer, tensor.Name, tensor.DataType, tensor.Shape);
        writer.WriteStartArray("data"u8);
        if (tensor.BytesData is { } bytes)
        {
            foreach (byte[] element in bytes)
            {
                WriteUtf8String(writer, element);
            }
        }
        else if (tensor.Fp32Data is { } floats)
        {
            foreach (float value in floats)
            {
                WriteFloat(writer, value);
            }
        }
        else
        {
            WriteNumbers(writer, tensor);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Writes the elements of a numeric tensor other than FP32, each as a JSON number (BOOL as true/false).</summary>
    private static void WriteNumbers(Utf8JsonWriter writer, Tensor tensor)
    {
        switch (tensor.DataType)
        {
            case TensorDataType.Bool:
                foreach (byte b in tensor.RawData)
                {
                    writer.WriteBooleanValue(b != 0);
                }

                break;
            case TensorDataType.UInt8: WriteUnsigned(writer, tensor.RawData); break;
            case TensorDataType.UInt16: WriteUnsigned(writer, tensor.GetData<ushort>()); break;
            case TensorDataType.UInt32: WriteUnsigned(writer, tensor.GetData<uint>()); break;
            case TensorDataType.UInt64: WriteUnsigned(writer, tensor.GetData<ulong>()); break;
            case TensorDataType.Int8: WriteSigned(writer, tensor.GetData<sbyte>()); break;
            case TensorDataType.Int16: WriteSigned(writer, tensor.GetData<short>()); break;
            case TensorDataType.Int32: WriteSigned(writer, tensor.GetData<int>()); break;
            case TensorDataType.Int64: WriteSigned(writer, tensor.GetData<long>()); break;
            case TensorDataType.Fp16:
                foreach (Half v in tensor.GetData<Half>())
                {
                    WriteFloat(writer, (float)v);
                }

                break;
            case TensorDataType.Fp64:
                foreach (double v in tensor.GetData<double>())
                {
                    if (double.IsFinite(v))
                    {
                        writer.WriteNumberValue(v);
                    }
                    else
                    {
                        writer.WriteNullValue();
                    }
                }

                break;
        }
    }

    private static void WriteSigned<T>(Utf8JsonWriter writer, ReadOnlySpan<T> values)
        where T : IBinaryInteger<T>, ISignedNumber<T>
    {
        foreach (T v in values)
        {
            writer.WriteNumberValue(long.CreateTruncating(v));
        }
    }

    private static void WriteUnsigned<T>(Utf8JsonWriter writer, ReadOnlySpan<T> values)
        where T : IBinaryInteger<T>, IUnsignedNumber<T>
    {
        foreach (T v in values)
        {
            writer.WriteNumberValue(ulong.CreateTruncating(v));
        }
    }

    /// <summary>JSON has no NaN or infinity; a model that outputs them gets null in their place rather than a 500.</summary>
    private static void WriteFloat(Utf8JsonWriter writer, float value)
    {
        if (float.IsFinite(value))
        {
            writer.WriteNumberValue(value);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    /// <summary>Writes bytes as a JSON string; bytes that are not UTF-8 (possible in a model's labels) are replaced, not thrown on.</summary>
    public static void WriteUtf8String(Utf8JsonWriter writer, byte[] utf8)
    {
        if (Utf8.IsValid(utf8))
        {
            writer.WriteStringValue(utf8);
        }
        else
        {
            writer.WriteStringValue(Encoding.UTF8.GetString(utf8));
        }
    }

    /// <summary>
    /// Metadata of <paramref name="model"/>; <paramref name="versions"/> lists what "versions" reports: every served
    /// version of the name for <c>/v2/models/{name}</c>, the one asked for under <c>/versions/{version}</c>.
    /// </summary>
    public static void WriteModelMetadata(Utf8JsonWriter writer, ServedModel model, IReadOnlyList<ServedModel> versions)
    {
        ModelMetadata metadata = model.Description.Metadata;
        writer.WriteStartObject();
        writer.WriteString("name"u8, metadata.Name);
        writer.WriteStartArray("versions"u8);
        foreach (ServedModel version in versions)
        {
            writer.WriteStringValue(version.Version);
        }

        writer.WriteEndArray();
        writer.WriteString("platform"u8, metadata.Platform);
        WriteTensorMetadata(writer, "inputs"u8, metadata.Inputs);
        WriteTensorMetadata(writer, "outputs"u8, metadata.Outputs);
        writer.WriteEndObject();
    }

    private static void WriteTensorMetadata(Utf8JsonWriter writer, ReadOnlySpan<byte> property, IReadOnlyList<TensorMetadata> tensors)
    {
        writer.WriteStartArray(property);
        foreach (TensorMetadata tensor in tensors)
        {
            writer.WriteStartObject();
            WriteNameDataTypeShape(writer, tensor.Name, tensor.DataType, tensor.Shape);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
    }

    // What a tensor and a tensor's metadata both start with. An indexed loop: a foreach over the interface would
    // allocate an enumerator for every response.
    private static void WriteNameDataTypeShape(Utf8JsonWriter writer, string name, TensorDataType dataType, IReadOnlyList<long> shape)
    {
        writer.WriteString("name"u8, name);
        writer.WriteString("datatype"u8, dataType.ToProtocolName());
        writer.WriteStartArray("shape"u8);
        for (int i = 0; i < shape.Count; i++)
        {
            writer.WriteNumberValue(shape[i]);
        }

        writer.WriteEndArray();
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return true;
            }
        }

        return false;
    }
}
