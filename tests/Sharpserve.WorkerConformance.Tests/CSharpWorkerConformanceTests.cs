using Sharpserve.WorkerConformance;

namespace Sharpserve.WorkerConformance.Tests;

/// <summary>The conformance suite against the C# worker (<c>sharpserve worker</c>) with the committed test models.</summary>
public abstract class CSharpWorkerConformanceTests(int threads) : WorkerConformanceTests
{
    protected override IReadOnlyList<ConformanceModel> Models => ConformanceModels.All;

    protected override WorkerHandle StartWorker(WorkerStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        return CSharpWorker.Start(start, threads);
    }
}
