namespace Sharpserve.Abstractions;

/// <summary>
/// A loaded, read-only model. It is shared by every executor thread; per-thread scratch state lives in the
/// sessions it creates. Implementations keep big data in read-only memory mappings, not on the managed heap.
/// </summary>
public interface IModel : IDisposable
{
    ModelMetadata Metadata { get; }

    /// <summary>Sample requests every executor runs before the model reports ready.</summary>
    IReadOnlyList<InferenceRequest> WarmupRequests { get; }

    /// <summary>Bytes of the model held in read-only file mappings (shared by every thread and process).</summary>
    long MappedBytes { get; }

    /// <summary>
    /// What serving needs of this model besides its sessions (metadata, warm-up requests, mapped bytes): the same
    /// <see cref="ModelDescription"/> its backend's <see cref="IModelBackend.Describe"/> gives without opening it.
    /// </summary>
    ModelDescription Description => new(Metadata, WarmupRequests, MappedBytes);

    /// <summary>Creates the per-executor state. A session is used by one thread at a time.</summary>
    IModelSession CreateSession();
}
