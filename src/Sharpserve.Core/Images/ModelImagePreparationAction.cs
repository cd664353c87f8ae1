namespace Sharpserve.Core.Images;

/// <summary>What <see cref="ModelImageCache"/> did to produce a valid image.</summary>
public enum ModelImagePreparationAction
{
    /// <summary>The image was fresh and is used as it is.</summary>
    Reused,

    /// <summary>The image was missing, invalid or stale and was built from the source.</summary>
    Built,
}
