namespace Sharpserve.Supervision;

/// <summary>Starts worker processes for a supervisor: `sharpserve worker` in production, an in-process double in tests.</summary>
public interface IWorkerLauncher
{
    /// <summary>
    /// Starts worker <paramref name="launch"/>.Id, which is to connect to <paramref name="launch"/>.SocketPath and say
    /// Hello with that id. Each line it prints goes to <paramref name="output"/>.
    /// </summary>
    IWorkerHandle Launch(WorkerLaunch launch, Action<string> output);
}

/// <summary>What one worker is started with: every setting it needs, explicitly (no process-wide environment).</summary>
/// <param name="Id">The id it says in Hello.</param>
/// <param name="SocketPath">The front's Unix socket.</param>
/// <param name="ModelPath">The prepared model to serve (an image, or a baked ONNX model).</param>
/// <param name="ModelName">The model's name.</param>
/// <param name="Threads">Executor threads in the worker.</param>
/// <param name="Settings">Backend settings (name=value), passed as <c>--setting</c> arguments.</param>
public sealed record WorkerLaunch(int Id, string SocketPath, string ModelPath, string ModelName, int Threads, IReadOnlyList<KeyValuePair<string, string>> Settings);
