using Sharpserve.Abstractions;

namespace Sharpserve.Http;

/// <summary>
/// The checks of an Open Inference Protocol infer request against the model's metadata that do not depend on how it
/// travelled: the JSON body (<see cref="OipInputReader"/>, <see cref="OipInferRequestReader"/>) and gRPC
/// (<c>Grpc/GrpcInferRequestReader</c>) ask the same questions and give the same messages.
/// </summary>
internal static class OipRequestValidator
{
    public const string TopKError = "parameter 'k' must be -1 (all labels) or a positive integer";

    public const string ThresholdError = "parameter 'threshold' must be a number from 0 to 1";

    /// <summary>'k' / 'top_k': -1 for every label, or a positive count.</summary>
    public static bool IsTopK(long k) => k == -1 || k is >= 1 and <= int.MaxValue;

    /// <summary>'threshold': a probability.</summary>
    public static bool IsThreshold(double threshold) => double.IsFinite(threshold) && threshold is >= 0 and <= 1;

    /// <summary>
    /// An input's name, datatype and shape against the model's metadata; the element count of the shape, checked
    /// against <see cref="OipInputReader.MaxElementsPerTensor"/>, before anything of its data is read.
    /// </summary>
    public static bool TryCheckInput(ModelMetadata metadata, string name, TensorDataType dataType, long[] shape, out long elements, out string? error)
    {
        elements = 0;
        TensorMetadata? expected = metadata.FindInput(name);
        if (expected is null)
        {
            error = $"unknown input '{name}'; model '{metadata.Name}' takes {TensorText.List(metadata.Inputs)}";
            return false;
        }

        if (expected.DataType != dataType)
        {
            error = $"input '{name}' has datatype {dataType.ToProtocolName()}; model '{metadata.Name}' expects {expected.DataType.ToProtocolName()}";
            return false;
        }

        if (!expected.Accepts(shape))
        {
            error = $"input '{name}' has shape {TensorText.Shape(shape)}; model '{metadata.Name}' expects {TensorText.Shape(expected.Shape)} (-1: any size)";
            return false;
        }

        if (!TensorDataTypes.TryGetElementCount(shape, OipInputReader.MaxElementsPerTensor, out elements))
        {
            error = $"input '{name}' declares shape {TensorText.Shape(shape)}, more than {OipInputReader.MaxElementsPerTensor} elements";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>An input read so far may not come again.</summary>
    public static bool TryCheckNotGiven(List<Tensor> inputs, string name, out string? error)
    {
        error = OipInputReader.Contains(inputs, name) ? $"input '{name}' is given twice" : null;
        return error is null;
    }

    /// <summary>Every input of the model is in the request.</summary>
    public static bool TryCheckComplete(ModelMetadata metadata, List<Tensor> inputs, out string? error)
    {
        foreach (TensorMetadata expected in metadata.Inputs)
        {
            if (!OipInputReader.Contains(inputs, expected.Name))
            {
                error = $"input '{expected.Name}' is missing; model '{metadata.Name}' needs {TensorText.List(metadata.Inputs)}";
                return false;
            }
        }

        error = null;
        return true;
    }

    /// <summary>A requested output is one of the model's and not already requested.</summary>
    public static bool TryCheckOutput(ModelMetadata metadata, string name, List<string> requested, out string? error)
    {
        if (metadata.FindOutput(name) is null)
        {
            error = $"unknown output '{name}'; model '{metadata.Name}' has {TensorText.List(metadata.Outputs)}";
            return false;
        }

        if (requested.Contains(name))
        {
            error = $"output '{name}' is requested more than once";
            return false;
        }

        error = null;
        return true;
    }
}
