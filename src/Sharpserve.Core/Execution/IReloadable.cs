namespace Sharpserve.Core.Execution;

/// <summary>An executor that can move to a new version of its model without dropping requests (process mode: SIGHUP).</summary>
public interface IReloadable
{
    /// <summary>The prepared model it serves now.</summary>
    string ModelPath { get; }

    /// <summary>Starts serving <paramref name="modelPath"/>; the old one serves until the new one is warm.</summary>
    void Reload(string modelPath);
}
