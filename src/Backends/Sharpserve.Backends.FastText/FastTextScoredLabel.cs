namespace Sharpserve.Backends.FastText;

/// <summary>A heap element during top-k: a log-probability score and a label index.</summary>
internal readonly record struct FastTextScoredLabel(float Score, int Label);
