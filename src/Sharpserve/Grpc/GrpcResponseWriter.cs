using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;
using Sharpserve.Http;

namespace Sharpserve.Grpc;

/// <summary>Builds the gRPC answers from what the model and the registry say, as <c>Http/OipResponseWriter</c> writes JSON.</summary>
internal static class GrpcResponseWriter
{
    /// <summary>
    /// The outputs asked for (all when none were named), in the model's order, each as name, datatype and shape with
    /// its elements in <c>raw_output_contents</c> at the same index, as Triton answers.
    /// </summary>
    public static ModelInferResponse InferResponse(ServedModel model, OipInferRequest request, InferenceResponse response)
    {
        var message = new ModelInferResponse { ModelName = model.Name, ModelVersion = model.Version, Id = request.Id ?? "" };
        foreach (Tensor output in response.Outputs)
        {
            if (request.RequestedOutputs is { } requested && !Contains(requested, output.Name))
            {
                continue;
            }

            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.DataType.ToProtocolName() };
            tensor.Shape.Add(output.Shape);
            message.Outputs.Add(tensor);
            message.RawOutputContents.Add(GrpcRawContents.Write(output));
        }

        return message;
    }

    /// <summary>
    /// Metadata of <paramref name="model"/>; <paramref name="versions"/> is every served version of the name when the
    /// request named none, the one asked for otherwise (as on <c>/v2/models/{name}[/versions/{version}]</c>).
    /// </summary>
    public static ModelMetadataResponse ModelMetadata(ServedModel model, IReadOnlyList<ServedModel> versions)
    {
        ModelMetadata metadata = model.Description.Metadata;
        var message = new ModelMetadataResponse { Name = metadata.Name, Platform = metadata.Platform };
        foreach (ServedModel version in versions)
        {
            message.Versions.Add(version.Version);
        }

        foreach (TensorMetadata input in metadata.Inputs)
        {
            message.Inputs.Add(TensorMetadataOf(input));
        }

        foreach (TensorMetadata output in metadata.Outputs)
        {
            message.Outputs.Add(TensorMetadataOf(output));
        }

        return message;
    }

    private static ModelMetadataResponse.Types.TensorMetadata TensorMetadataOf(TensorMetadata tensor)
    {
        var message = new ModelMetadataResponse.Types.TensorMetadata { Name = tensor.Name, Datatype = tensor.DataType.ToProtocolName() };
        message.Shape.Add(tensor.Shape);
        return message;
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
