using System.Buffers.Binary;
using System.Text.Json;
using Sharpserve.Abstractions;
using Sharpserve.Http;

namespace Sharpserve.Hosting;

/// <summary>
/// A warm-up request in the binary tensor data extension's form (docs/binary-tensor-extension.md): every input as a
/// binary blob, every output asked for in binary, so the warm-up runs the reader and writer tritonclient's requests
/// meet, not only the JSON path.
/// </summary>
internal static class WarmupBinaryRequest
{
    /// <summary>The body and the length of its JSON header (the Inference-Header-Content-Length value).</summary>
    public static (byte[] Body, int HeaderLength) Create(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var blobs = new List<byte[]>(request.Inputs.Count);
        foreach (Tensor input in request.Inputs)
        {
            blobs.Add(Blob(input));
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("parameters"u8);
            writer.WriteNumber("k"u8, request.Parameters.TopK);
            writer.WriteNumber("threshold"u8, request.Parameters.Threshold);
            writer.WriteBoolean("binary_data_output"u8, true);
            writer.WriteEndObject();
            writer.WriteStartArray("inputs"u8);
            for (int i = 0; i < request.Inputs.Count; i++)
            {
                Tensor input = request.Inputs[i];
                writer.WriteStartObject();
                writer.WriteString("name"u8, input.Name);
                writer.WriteString("datatype"u8, input.DataType.ToProtocolName());
                writer.WriteStartArray("shape"u8);
                foreach (long dimension in input.Shape)
                {
                    writer.WriteNumberValue(dimension);
                }

                writer.WriteEndArray();
                writer.WriteStartObject("parameters"u8);
                writer.WriteNumber("binary_data_size"u8, blobs[i].Length);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        int headerLength = (int)buffer.Length;
        foreach (byte[] blob in blobs)
        {
            buffer.Write(blob);
        }

        return (buffer.ToArray(), headerLength);
    }

    /// <summary>Numeric data as it is (little-endian); BYTES as 4-byte little-endian length-prefixed elements.</summary>
    public static byte[] Blob(Tensor input)
    {
        if (input.BytesData is not { } elements)
        {
            return input.RawData.ToArray();
        }

        byte[] blob = new byte[elements.Sum(e => 4 + e.Length)];
        int offset = 0;
        foreach (byte[] element in elements)
        {
            BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(offset), element.Length);
            element.CopyTo(blob, offset + 4);
            offset += 4 + element.Length;
        }

        return blob;
    }
}
