using Sharpserve.WorkerConformance;

namespace Sharpserve.PythonWorker.Tests;

/// <summary>The conformance suite against the Python worker with the Python mirrors of the ONNX test models.</summary>
public sealed class PythonWorkerConformanceTests : WorkerConformanceTests
{
    protected override IReadOnlyList<ConformanceModel> Models => PythonTestModels.All;

    protected override WorkerHandle StartWorker(WorkerStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        return PythonWorker.Start(start);
    }
}
