using Microsoft.Extensions.Logging;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Collects an in-process server's log lines ("Category[EventId] message"), so tests can assert on the events the
/// server reports, in order, and wait for one (bounded) instead of sleeping.
/// </summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly List<string> _lines = [];

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

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    /// <summary>Polls until a line matches (the server logs it by itself); fails after 30 s.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, string what)
    {
        for (int i = 0; i < 600; i++)
        {
            foreach (string line in Lines)
            {
                if (match(line))
                {
                    return line;
                }
            }

            await Task.Delay(50);
        }

        Assert.Fail($"not logged within 30 s: {what}; log:\n{string.Join("\n", Lines)}");
        return "";
    }

    public void Dispose()
    {
    }

    private void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
        }
    }

    private sealed class Logger(LogCapture capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                capture.Add($"{category}[{eventId.Id}] {formatter(state, exception)}");
            }
        }
    }
}
