namespace Sharpserve.Core.Execution;

/// <summary>An executor whose number of workers can change while it serves (process mode: SIGTTIN / SIGTTOU).</summary>
public interface IScalable
{
    /// <summary>One more (+1) or one fewer (-1) worker; never fewer than one.</summary>
    void Scale(int delta);
}
