using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;

namespace Sharpserve.Http;

/// <summary>Writes Open Inference Protocol JSON bodies straight into the response's buffer writer.</summary>
internal static class OipResponseWriter
{
    public const string ModelVersion = "1";

    public static void WriteInferResponse(Utf8JsonWriter writer, string modelName, OipInferRequest request, InferenceResponse response)
    {
        writer.WriteStartObject();
        writer.WriteString("model_name"u8, modelName);
        writer.WriteString("model_version"u8, ModelVersion);
        if (request.Id is not null)
        {
            writer.WriteString("id"u8, request.Id);
        }

        writer.WriteStartArray("outputs"u8);
        foreach (Tensor output in response.Outputs)
        {
            if (request.RequestedOutputs is null || Contains(request.RequestedOutputs, output.Name))
            {
                WriteTensor(writer, output);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    public static void WriteTensor(Utf8JsonWriter writer, Tensor tensor)
    {
        writer.WriteStartObject();
        writer.WriteString("name"u8, tensor.Name);
        writer.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
        writer.WriteStartArray("shape"u8);
        foreach (long dim in tensor.Shape)
        {
            writer.WriteNumberValue(dim);
        }

        writer.WriteEndArray();
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
                writer.WriteNumberValue(value);
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
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

    public static void WriteModelMetadata(Utf8JsonWriter writer, ServedModel model)
    {
        ModelMetadata metadata = model.Model.Metadata;
        writer.WriteStartObject();
        writer.WriteString("name"u8, metadata.Name);
        writer.WriteStartArray("versions"u8);
        writer.WriteStringValue(ModelVersion);
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
            writer.WriteString("name"u8, tensor.Name);
            writer.WriteString("datatype"u8, tensor.DataType.ToProtocolName());
            writer.WriteStartArray("shape"u8);
            foreach (long dim in tensor.Shape)
            {
                writer.WriteNumberValue(dim);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
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
