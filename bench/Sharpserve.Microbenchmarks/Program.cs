using System.Globalization;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Sharpserve.Microbenchmarks;

// Usage: Sharpserve.Microbenchmarks --demo-image DEMO.ssimg --large-image LARGE.ssimg --entries N
//                                   --out RESULT.json --artifacts DIR [--quick]
// (the images come from `sharpserve prepare MODEL.bin`, as the server maps them)
// Runs PredictBenchmarks in this process (no child build: the in-process toolchain), then writes a small JSON
// summary (mean, median, min, max ns per prediction, bytes allocated) that bench/report/make_report.py reads.
var options = new Dictionary<string, string>();
bool quick = false;
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--quick")
    {
        quick = true;
    }
    else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
    {
        options[args[i][2..]] = args[++i];
    }
}

Inputs.DemoImage = options["demo-image"];
Inputs.LargeImage = options["large-image"];
Inputs.RandomEntries = int.Parse(options.GetValueOrDefault("entries", "5000000"), CultureInfo.InvariantCulture);

// Quick: a smoke run (one short iteration set); full: BenchmarkDotNet's defaults trimmed to a few minutes.
Job job = quick
    ? Job.Dry.WithIterationCount(3).WithInvocationCount(20_000).WithUnrollFactor(1)
    : Job.ShortRun.WithIterationCount(10).WithWarmupCount(3).WithLaunchCount(1);
var config = ManualConfig.CreateMinimumViable()
    .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance))
    .WithArtifactsPath(options["artifacts"]);
var summary = BenchmarkRunner.Run<PredictBenchmarks>(config);

var rows = summary.Reports.Select(r => new
{
    name = r.BenchmarkCase.Descriptor.WorkloadMethod.Name,
    description = r.BenchmarkCase.Descriptor.WorkloadMethodDisplayInfo.Trim('\''),
    mean_ns = r.ResultStatistics?.Mean,
    median_ns = r.ResultStatistics?.Median,
    min_ns = r.ResultStatistics?.Min,
    max_ns = r.ResultStatistics?.Max,
    iterations = r.ResultStatistics?.N,
    allocated_bytes = r.GcStats.GetBytesAllocatedPerOperation(r.BenchmarkCase),
}).ToArray();
File.WriteAllText(options["out"], JsonSerializer.Serialize(new { quick, job = job.ToString(), rows }));
return rows.Any(r => r.mean_ns is null) ? 1 : 0;
