namespace Sharpserve.WorkerConformance.Tests;

/// <summary>The C# worker with --worker-threads 2: requests go to executor threads and finish in any order.</summary>
public sealed class TwoThreadWorkerConformanceTests() : CSharpWorkerConformanceTests(threads: 2);
