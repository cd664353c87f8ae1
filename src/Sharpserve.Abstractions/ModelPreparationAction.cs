namespace Sharpserve.Abstractions;

/// <summary>What preparing a model did to produce its valid prepared form.</summary>
public enum ModelPreparationAction
{
    /// <summary>The prepared form was fresh and is used as it is.</summary>
    Reused,

    /// <summary>It was missing, invalid or stale and was built from the source.</summary>
    Built,
}
