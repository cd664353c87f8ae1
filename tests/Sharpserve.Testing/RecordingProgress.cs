using Sharpserve.Abstractions;

namespace Sharpserve.Testing;

/// <summary>
/// Keeps every progress report, synchronously and in order (<see cref="Progress{T}"/> would post them to the thread
/// pool), from any thread: a bake reports from a timer while it works.
/// </summary>
public sealed class RecordingProgress : IProgress<ProgressReport>
{
    private readonly List<ProgressReport> _reports = [];

    /// <summary>A copy of the reports so far.</summary>
    public IReadOnlyList<ProgressReport> Reports
    {
        get
        {
            lock (_reports)
            {
                return [.. _reports];
            }
        }
    }

    /// <summary>The steps in the order they began, each once per run of reports.</summary>
    public IReadOnlyList<string> Steps
    {
        get
        {
            var steps = new List<string>();
            foreach (ProgressReport report in Reports)
            {
                if (steps.Count == 0 || steps[^1] != report.Step)
                {
                    steps.Add(report.Step);
                }
            }

            return steps;
        }
    }

    public void Report(ProgressReport value)
    {
        lock (_reports)
        {
            _reports.Add(value);
        }
    }
}
