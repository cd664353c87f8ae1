using System.Diagnostics;
using System.Globalization;
using Sharpserve.WorkerConformance;

namespace Sharpserve.PythonWorker.Tests;

/// <summary>
/// Starts the Python worker standalone (docs/python-backend.md section 3):
/// <c>/usr/bin/python3 -m sharpserve.worker --socket PATH --id ID --entry MODULE:ATTR --path DIR</c>, with the
/// repository's src/python on PYTHONPATH as the front puts the shipped package there.
/// </summary>
internal static class PythonWorker
{
    /// <summary>Debian's interpreter: it has numpy, which the conformance models use.</summary>
    public const string Interpreter = "/usr/bin/python3";

    public static WorkerHandle Start(WorkerStartInfo start)
    {
        var info = new ProcessStartInfo(Interpreter);
        foreach (string argument in (string[])
        [
            "-m", "sharpserve.worker", "--socket", start.SocketPath, "--id", start.WorkerId.ToString(CultureInfo.InvariantCulture),
            "--entry", start.Model.Reference, "--path", PythonTestModels.Folder,
        ])
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["PYTHONPATH"] = RepositoryPaths.PythonPackageParent;
        info.Environment["PYTHONUNBUFFERED"] = "1";
        // No __pycache__ folders written into the repository by a test run.
        info.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        info.WorkingDirectory = start.ScratchDirectory;
        return ProcessWorkerHandle.Start(info);
    }
}
