using Microsoft.Extensions.Logging;

namespace Sharpserve.Tests.Supervision;

/// <summary>A logger that keeps every line ("[EventId] message") and lets a test wait for one, woken by each new line, not by polling.</summary>
internal sealed class LogLines : ILogger
{
    private readonly List<string> _lines = [];
    private TaskCompletionSource _added = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        TaskCompletionSource added;
        lock (_lines)
        {
            _lines.Add($"[{eventId.Id}] {formatter(state, exception)}");
            added = _added;
            _added = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        added.TrySetResult();
    }

    /// <summary>The first line (already logged or to come) that matches; fails after 30 s.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> match, string what)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            Task added;
            lock (_lines)
            {
                string? found = _lines.Find(l => match(l));
                if (found is not null)
                {
                    return found;
                }

                added = _added.Task;
            }

            try
            {
                await added.WaitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"not logged within 30 s: {what}; log:\n{string.Join("\n", Lines)}");
            }
        }
    }

    public int Count(Func<string, bool> match)
    {
        lock (_lines)
        {
            return _lines.Count(match);
        }
    }
}
