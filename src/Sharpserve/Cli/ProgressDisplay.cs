using System.Globalization;
using Sharpserve.Abstractions;

namespace Sharpserve.Cli;

/// <summary>
/// Shows how a long preparation goes (building a model image, baking an ONNX model) from the
/// <see cref="ProgressReport"/>s the work sends: on a terminal one bar line redrawn in place (carriage return) at
/// most every <see cref="TerminalInterval"/>; elsewhere a plain line, without control characters, every line
/// interval. A timer redraws between reports, so a step that reports no bytes (ONNX Runtime optimizing) still shows
/// its elapsed time. <see cref="Finish"/> replaces the bar with one final line. Nothing is shown before the first
/// report, so work with nothing to do (a fresh image) shows only its final line. It shows only what the work knows:
/// a step without a total gets a spinner and the bytes so far, never a made-up percentage or ETA.
/// </summary>
internal sealed class ProgressDisplay : IProgress<ProgressReport>, IDisposable
{
    /// <summary>How often a terminal bar is redrawn at most: often enough to look live, rarely enough to cost nothing.</summary>
    public static readonly TimeSpan TerminalInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How often a plain line is written when stderr is not a terminal (a log, a CI job).</summary>
    public static readonly TimeSpan DefaultLineInterval = TimeSpan.FromSeconds(2);

    private const int BarCells = 20;
    private const string SpinnerFrames = "|/-\\";

    private readonly Lock _gate = new();
    private readonly string _subject;
    private readonly TextWriter? _terminal;
    private readonly int _terminalWidth;
    private readonly Action<string> _writeLine;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly long _started;
    private readonly ITimer? _timer;

    private string? _step;
    private long _stepStarted;
    private long _stepStartedDone;
    private long _reported;
    private long _done;
    private long? _total;
    private long _shown;
    private int _barLength;
    private int _frame;
    private bool _closed;

    private ProgressDisplay(string subject, TextWriter? terminal, int terminalWidth, Action<string> writeLine, TimeProvider time, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(writeLine);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        _subject = subject;
        _terminal = terminal;
        _terminalWidth = terminalWidth;
        _writeLine = writeLine;
        _time = time;
        _interval = interval;
        _started = time.GetTimestamp();
        _shown = _started;

        // With a zero interval every report is shown, and nothing happens between reports.
        _timer = interval > TimeSpan.Zero ? time.CreateTimer(static state => ((ProgressDisplay)state!).OnTick(), this, interval, interval) : null;
    }

    /// <summary>Time since the display was created: how long the work has taken so far.</summary>
    public TimeSpan Elapsed => _time.GetElapsedTime(_started);

    /// <summary>
    /// A bar on <paramref name="terminal"/>, redrawn in place, cut to <paramref name="width"/> columns so that it
    /// never wraps; <see cref="Finish"/> erases it and writes the final line through <paramref name="writeLine"/>.
    /// </summary>
    /// <param name="subject">What is being prepared, e.g. "preparing model.bin"; starts every bar and line.</param>
    public static ProgressDisplay ForTerminal(string subject, TextWriter terminal, int width, Action<string> writeLine, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(terminal);
        return new ProgressDisplay(subject, terminal, Math.Max(width, 20), writeLine, time, TerminalInterval);
    }

    /// <summary>A plain line through <paramref name="writeLine"/> every <paramref name="interval"/> (zero: one per report), then the final one.</summary>
    /// <param name="subject">What is being prepared, e.g. "preparing model.bin"; starts every line.</param>
    public static ProgressDisplay ForLines(string subject, Action<string> writeLine, TimeProvider time, TimeSpan interval) =>
        new(subject, terminal: null, terminalWidth: 0, writeLine, time, interval);

    public void Report(ProgressReport value)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            long now = _time.GetTimestamp();
            if (!string.Equals(value.Step, _step, StringComparison.Ordinal))
            {
                _step = value.Step;
                _stepStarted = now;
                _stepStartedDone = value.BytesDone;
            }

            _reported = now;
            _done = value.BytesDone;
            _total = value.BytesTotal;
            ShowIfDue(now);
        }
    }

    /// <summary>Erases the bar, if any, stops showing progress and writes <paramref name="line"/>, what was done.</summary>
    public void Finish(string line)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }

            Close();
            _writeLine(line);
        }
    }

    /// <summary>Stops showing progress and erases the bar (the work failed: its error follows on a clean line).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (!_closed)
            {
                Close();
            }
        }
    }

    /// <summary>Bytes for people: "512 B", "3.2 MiB", "512 MiB", "1.2 GiB" (binary units, 3 significant digits at most).</summary>
    public static string FormatBytes(long bytes)
    {
        if (bytes < 1024)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes} B");
        }

        ReadOnlySpan<string> units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        double value = bytes / 1024.0;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value < 99.95
            ? string.Create(CultureInfo.InvariantCulture, $"{value:0.0} {units[unit]}")
            : string.Create(CultureInfo.InvariantCulture, $"{value:0} {units[unit]}");
    }

    /// <summary>How long something took: "0.4 s", "42.0 s", "2 min 5 s", "1 h 3 min".</summary>
    public static string FormatElapsed(TimeSpan elapsed) =>
        elapsed < TimeSpan.FromSeconds(59.95)
            ? string.Create(CultureInfo.InvariantCulture, $"{elapsed.TotalSeconds:0.0} s")
            : FormatSeconds((long)elapsed.TotalSeconds);

    private void OnTick()
    {
        lock (_gate)
        {
            if (!_closed && _step is not null)
            {
                ShowIfDue(_time.GetTimestamp());
            }
        }
    }

    private void ShowIfDue(long now)
    {
        if (_time.GetElapsedTime(_shown, now) < _interval)
        {
            return;
        }

        _shown = now;
        if (_terminal is null)
        {
            _writeLine(FormatLine(now));
            return;
        }

        // A line that wrapped could not be redrawn in place: FormatBar keeps it within the width.
        string bar = FormatBar(now);

        // Spaces cover what is left of a longer previous bar: no terminal control sequences are needed.
        _terminal.Write('\r' + bar.PadRight(_barLength));
        _barLength = bar.Length;
    }

    private void Close()
    {
        _closed = true;
        _timer?.Dispose();
        if (_terminal is not null && _barLength > 0)
        {
            _terminal.Write('\r' + new string(' ', _barLength) + '\r');
            _barLength = 0;
        }
    }

    // "preparing m.bin: writing the model image, 512 MiB of 1.2 GiB (410 MB/s, 2 s left)"
    private string FormatLine(long now)
    {
        TimeSpan stepElapsed = _time.GetElapsedTime(_stepStarted, now);
        double? rate = BytesPerSecond();
        string soFar = FormatSeconds((long)stepElapsed.TotalSeconds) + " so far";
        string step = $"{_subject}: {_step}";
        if (_total is long total)
        {
            return rate is double known
                ? $"{step}, {FormatBytes(_done)} of {FormatBytes(total)} ({FormatRate(known)}, {FormatRemaining(total, known)} left)"
                : $"{step}, {FormatBytes(_done)} of {FormatBytes(total)} ({soFar})";
        }

        if (_done > 0)
        {
            return rate is double known
                ? $"{step}, {FormatBytes(_done)}, total not known ({FormatRate(known)}, {soFar})"
                : $"{step}, {FormatBytes(_done)}, total not known ({soFar})";
        }

        return $"{step} ({soFar})";
    }

    // "preparing m.bin: writing the model image [########............] 512 MiB / 1.2 GiB  410 MB/s  2 s left"
    // without a total: "preparing m.onnx: optimizing in ONNX Runtime / 12 s". On a narrow terminal
    // the bar goes first, then the end of the step's name: the numbers are what the reader waits for.
    private string FormatBar(long now)
    {
        TimeSpan stepElapsed = _time.GetElapsedTime(_stepStarted, now);
        double? rate = BytesPerSecond();
        string step = $"{_subject}: {_step}";
        string gauge;
        string numbers;
        if (_total is long total)
        {
            double fraction = total <= 0 ? 1 : Math.Clamp((double)_done / total, 0, 1);
            int filled = (int)(fraction * BarCells);
            gauge = $"[{new string('#', filled)}{new string('.', BarCells - filled)}]";
            numbers = $"{FormatBytes(_done)} / {FormatBytes(total)}";
            numbers = rate is double known ? $"{numbers}  {FormatRate(known)}  {FormatRemaining(total, known)} left" : numbers;
        }
        else
        {
            gauge = SpinnerFrames[_frame++ % SpinnerFrames.Length].ToString();
            string elapsed = FormatSeconds((long)stepElapsed.TotalSeconds);
            numbers = _done == 0 ? elapsed
                : rate is double known ? $"{FormatBytes(_done)}  {FormatRate(known)}  {elapsed}"
                : $"{FormatBytes(_done)}  {elapsed}";
        }

        // One column is left free: a line that fills the last column wraps on some terminals.
        int room = _terminalWidth - 1;
        string line = $"{step} {gauge} {numbers}";
        if (line.Length <= room)
        {
            return line;
        }

        line = _total is null ? line : $"{step} {numbers}";
        int stepRoom = room - (line.Length - step.Length);
        return line.Length <= room ? line
            : stepRoom >= 8 ? string.Concat(step.AsSpan(0, stepRoom - 3), "...", line.AsSpan(step.Length))
            : line[..room];
    }

    // The step's average from its first report to its last: null until two reports some time apart differ. Bytes
    // done before the step was first seen (a file found already written) do not count as speed.
    private double? BytesPerSecond()
    {
        TimeSpan reporting = _time.GetElapsedTime(_stepStarted, _reported);
        long bytes = _done - _stepStartedDone;
        return bytes > 0 && reporting > TimeSpan.Zero ? bytes / reporting.TotalSeconds : null;
    }

    private string FormatRemaining(long total, double bytesPerSecond) =>
        FormatSeconds((long)Math.Round(Math.Max(0, total - _done) / bytesPerSecond, MidpointRounding.AwayFromZero));

    // Decimal megabytes per second, as disks and networks are rated.
    private static string FormatRate(double bytesPerSecond)
    {
        double megabytes = bytesPerSecond / 1e6;
        return megabytes < 9.95
            ? string.Create(CultureInfo.InvariantCulture, $"{megabytes:0.0} MB/s")
            : string.Create(CultureInfo.InvariantCulture, $"{megabytes:0} MB/s");
    }

    private static string FormatSeconds(long seconds) =>
        seconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{seconds} s")
        : seconds < 3600 ? string.Create(CultureInfo.InvariantCulture, $"{seconds / 60} min {seconds % 60} s")
        : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600} h {seconds % 3600 / 60} min");
}
