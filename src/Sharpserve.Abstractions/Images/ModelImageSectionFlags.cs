namespace Sharpserve.Abstractions.Images;

/// <summary>Per-section flags stored in the section table.</summary>
[Flags]
public enum ModelImageSectionFlags
{
    None = 0,

    /// <summary>
    /// The checksum is verified every time the image is opened. For index-like sections the hot path trusts
    /// (dictionaries, hash tables, trees): small, and a flipped bit there could send a lookup astray. Bulk weights
    /// are not verified on open, since that would touch every page of a multi-GB file at every start.
    /// </summary>
    VerifyOnOpen = 1,
}
