namespace Sharpserve.WorkerConformance.Tests;

/// <summary>The C# worker as the front starts it by default: one thread, predicting on its I/O loop.</summary>
public sealed class OneThreadWorkerConformanceTests() : CSharpWorkerConformanceTests(threads: 1);
