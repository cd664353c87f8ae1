namespace Sharpserve.Abstractions.Images;

/// <summary>
/// What an image was built from, recorded in its header so a cache can tell whether it is stale: the source
/// file's size and content hash (XXH128), and a quick fingerprint (modification and status-change times in
/// nanoseconds since the Unix epoch, inode, device) that is compared without reading the file.
/// </summary>
/// <param name="FingerprintIsRacy">
/// The source was modified so shortly before the image was built that a later write could leave the
/// fingerprint unchanged (coarse file-system clocks); the content hash must be checked before trusting it.
/// </param>
public readonly record struct ModelImageSource(
    long Size,
    UInt128 ContentHash,
    long ModifiedTimeNs,
    long ChangeTimeNs,
    ulong Inode,
    ulong Device,
    bool FingerprintIsRacy);
