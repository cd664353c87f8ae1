namespace Sharpserve.Backends.Onnx;

/// <summary>How an ONNX model's weights are held (docs/formats/onnx.md, "Sharing the weights").</summary>
public enum OnnxWeightSharing
{
    /// <summary>
    /// Default: the model is optimized once on this host and saved with its weights and ONNX Runtime's prepacked
    /// weights in an external file in the cache; every session loads that by path, so the pages are shared.
    /// </summary>
    Prepacked,

    /// <summary>The user's model as it is, with prepacking off: external data stays shared, kernels are slower.</summary>
    NoPrepack,

    /// <summary>The user's model as it is, with ONNX Runtime's defaults: each process keeps its own prepacked copy.</summary>
    Private,
}
