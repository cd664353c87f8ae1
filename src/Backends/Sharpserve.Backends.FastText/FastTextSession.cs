using Sharpserve.Abstractions;

namespace Sharpserve.Backends.FastText;

/// <summary>
/// Runs inference requests on one executor thread. Input <c>text</c>: BYTES, shape [N]; each element is one
/// record (split on fastText's separators, then <c>"&lt;/s&gt;"</c> appended once, as the Python binding's
/// <c>predict</c> does). Outputs <c>label</c> (BYTES [N, K]) and <c>probability</c> (FP32 [N, K]) with
/// K = LabelCount when k is -1, else min(k, LabelCount); rows with fewer predictions are padded with empty
/// labels and probability 0.
/// </summary>
public sealed class FastTextSession : IModelSession
{
    public const string TextInputName = "text";
    public const string LabelOutputName = "label";
    public const string ProbabilityOutputName = "probability";

    private readonly FastTextModel _model;
    private readonly FastTextPredictor _predictor;
    private readonly FastTextPrediction[] _predictions;

    public FastTextSession(FastTextModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _model = model;
        _predictor = model.CreatePredictor();
        _predictions = new FastTextPrediction[model.LabelCount];
    }

    public InferResult Infer(InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        InferError? error = Validate(request, out byte[][] texts, out int k, out float threshold);
        if (error is not null)
        {
            return error;
        }

        int width = k == -1 ? _model.LabelCount : Math.Min(k, _model.LabelCount);
        long total = (long)texts.Length * width;
        if (total > Array.MaxLength)
        {
            return InferError.BadInput($"{texts.Length} texts x {width} labels is too many outputs for one request");
        }

        var labels = new byte[total][];
        var probabilities = new float[total];
        for (int row = 0; row < texts.Length; row++)
        {
            _predictor.Reset();
            _predictor.AddText(texts[row]);
            _predictor.AddEndOfSentence();
            int count;
            try
            {
                count = _predictor.Predict(k, threshold, _predictions);
            }
            catch (InvalidDataException e)
            {
                return InferResult.Failure(InferErrorKind.BackendFailed, e.Message);
            }

            int start = row * width;
            for (int i = 0; i < width; i++)
            {
                if (i < count)
                {
                    labels[start + i] = _model.GetLabelBytes(_predictions[i].LabelIndex);
                    probabilities[start + i] = _predictions[i].Probability;
                }
                else
                {
                    labels[start + i] = [];
                }
            }
        }

        long[] shape = [texts.Length, width];
        return InferResult.Success(new InferenceResponse(
        [
            Tensor.FromBytes(LabelOutputName, shape, labels),
            Tensor.FromFp32(ProbabilityOutputName, [texts.Length, width], probabilities),
        ]));
    }

    public void Dispose()
    {
    }

    private static InferError? Validate(InferenceRequest request, out byte[][] texts, out int k, out float threshold)
    {
        texts = [];
        k = request.Parameters.TopK;
        threshold = request.Parameters.Threshold;
        Tensor? input = request.FindInput(TextInputName);
        if (input is null)
        {
            return InferError.BadInput($"input '{TextInputName}' is missing");
        }

        if (input.DataType != TensorDataType.Bytes || input.BytesData is null)
        {
            return InferError.BadInput($"input '{TextInputName}' must be BYTES, got {input.DataType.ToProtocolName()}");
        }

        if (input.Shape.Length != 1)
        {
            return InferError.BadInput(
                $"input '{TextInputName}' must have shape [N], got [{string.Join(", ", input.Shape)}]");
        }

        if (input.Shape[0] != input.BytesData.Length)
        {
            return InferError.BadInput(
                $"input '{TextInputName}' has shape [{input.Shape[0]}] but {input.BytesData.Length} elements");
        }

        for (int i = 0; i < input.BytesData.Length; i++)
        {
            if (input.BytesData[i] is null)
            {
                return InferError.BadInput($"input '{TextInputName}' element {i} is null");
            }
        }

        if (k != -1 && k < 1)
        {
            return InferError.BadInput($"parameter k must be -1 (all labels) or a positive integer, got {k}");
        }

        if (!float.IsFinite(threshold) || threshold < 0f || threshold > 1f)
        {
            return InferError.BadInput($"parameter threshold must be a number in [0, 1], got {threshold}");
        }

        texts = input.BytesData;
        return null;
    }
}
