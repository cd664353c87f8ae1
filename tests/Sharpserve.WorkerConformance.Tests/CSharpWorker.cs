using System.Diagnostics;
using System.Globalization;
using Sharpserve.WorkerConformance;

namespace Sharpserve.WorkerConformance.Tests;

/// <summary>
/// Starts the C# worker as the front does (Supervision/WorkerLauncher, WorkerStarter):
/// <c>dotnet sharpserve.dll worker --socket PATH --model MODEL --name NAME --id ID --threads N</c>.
/// </summary>
internal static class CSharpWorker
{
    private static string ExecutablePath => Path.Combine(AppContext.BaseDirectory, "sharpserve.dll");

    public static WorkerHandle Start(WorkerStartInfo start, int threads)
    {
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        var info = new ProcessStartInfo(dotnet);
        foreach (string argument in (string[])
        [
            ExecutablePath, "worker", "--socket", start.SocketPath, "--model", start.Model.Reference, "--name", start.Model.Name,
            "--id", start.WorkerId.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--setting", $"cache_dir={Path.Combine(start.ScratchDirectory, "cache")}", "--setting", "onnx.intra_op_threads=1",
        ])
        {
            info.ArgumentList.Add(argument);
        }

        // As the front passes them: the cache directory is the test's private folder; ONNX Runtime gets one thread,
        // as the front gives each worker on a small machine.
        return ProcessWorkerHandle.Start(info);
    }
}
