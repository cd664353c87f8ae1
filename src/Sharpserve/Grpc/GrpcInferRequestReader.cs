using Google.Protobuf;
using Google.Protobuf.Collections;
using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Http;

namespace Sharpserve.Grpc;

/// <summary>
/// Turns a gRPC <c>ModelInferRequest</c> into the same validated <see cref="OipInferRequest"/> the JSON path makes
/// (<c>Http/OipInferRequestReader</c>): the inputs (<see cref="GrpcInputReader"/>), the parameters 'k' / 'top_k'
/// and 'threshold', the requested outputs. Every problem is a message for INVALID_ARGUMENT.
/// </summary>
internal static class GrpcInferRequestReader
{
    public static bool TryRead(ModelInferRequest message, ModelMetadata metadata, out OipInferRequest? request, out string? error)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(metadata);
        request = null;
        RepeatedField<ByteString> raw = message.RawInputContents;
        if (raw.Count > 0 && raw.Count != message.Inputs.Count)
        {
            error = $"raw_input_contents has {raw.Count} entries for {message.Inputs.Count} inputs; send one per input, in the order of 'inputs'";
            return false;
        }

        var inputs = new List<Tensor>(message.Inputs.Count);
        for (int i = 0; i < message.Inputs.Count; i++)
        {
            if (!GrpcInputReader.TryRead(message.Inputs[i], raw.Count > 0 ? raw[i] : null, metadata, out Tensor? tensor, out error) ||
                !OipRequestValidator.TryCheckNotGiven(inputs, tensor!.Name, out error))
            {
                return false;
            }

            inputs.Add(tensor);
        }

        if (!OipRequestValidator.TryCheckComplete(metadata, inputs, out error) ||
            !TryReadParameters(message.Parameters, out InferenceParameters parameters, out error))
        {
            return false;
        }

        List<string>? outputs = null;
        if (message.Outputs.Count > 0) // as Triton does: no 'outputs' asks for every output
        {
            outputs = new List<string>(message.Outputs.Count);
            foreach (ModelInferRequest.Types.InferRequestedOutputTensor output in message.Outputs)
            {
                if (!OipRequestValidator.TryCheckOutput(metadata, output.Name, outputs, out error))
                {
                    return false;
                }

                outputs.Add(output.Name);
            }
        }

        request = new OipInferRequest(new InferenceRequest(inputs, parameters, outputs), message.Id.Length > 0 ? message.Id : null, outputs);
        error = null;
        return true;
    }

    /// <summary>
    /// 'k' / 'top_k' as int64_param or uint64_param, 'threshold' as double_param (what tritonclient sends for a
    /// float) or int64_param; other parameters are ignored, as on the JSON path.
    /// </summary>
    private static bool TryReadParameters(MapField<string, InferParameter> given, out InferenceParameters parameters, out string? error)
    {
        parameters = InferenceParameters.Default;
        foreach (KeyValuePair<string, InferParameter> parameter in given)
        {
            InferParameter value = parameter.Value;
            if (parameter.Key is "k" or "top_k")
            {
                long k = value.ParameterChoiceCase switch
                {
                    InferParameter.ParameterChoiceOneofCase.Int64Param => value.Int64Param,
                    InferParameter.ParameterChoiceOneofCase.Uint64Param when value.Uint64Param <= int.MaxValue => (long)value.Uint64Param,
                    _ => 0,
                };
                if (!OipRequestValidator.IsTopK(k))
                {
                    error = $"{OipRequestValidator.TopKError} (int64_param)";
                    return false;
                }

                parameters = parameters with { TopK = (int)k };
            }
            else if (parameter.Key == "threshold")
            {
                double threshold = value.ParameterChoiceCase switch
                {
                    InferParameter.ParameterChoiceOneofCase.DoubleParam => value.DoubleParam,
                    InferParameter.ParameterChoiceOneofCase.Int64Param => value.Int64Param,
                    _ => double.NaN,
                };
                if (!OipRequestValidator.IsThreshold(threshold))
                {
                    error = $"{OipRequestValidator.ThresholdError} (double_param)";
                    return false;
                }

                parameters = parameters with { Threshold = (float)threshold };
            }
        }

        error = null;
        return true;
    }
}
