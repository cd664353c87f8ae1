using Microsoft.Extensions.Time.Testing;
using Sharpserve.Abstractions;
using Sharpserve.Cli;

namespace Sharpserve.FunctionalTests.Cli;

/// <summary>
/// What the progress display writes, on fake time: rate and ETA from the reports, throttled to its interval, the
/// final line, a terminal's bar redrawn in place versus plain lines elsewhere.
/// </summary>
public sealed class ProgressDisplayTests
{
    private const string Subject = "preparing m.bin";
    private const string Writing = "writing the model image";
    private const long MiB = 1 << 20;
    private const long Total = 1536 * MiB; // 1.5 GiB

    private readonly FakeTimeProvider _time = new();
    private readonly List<string> _lines = [];
    private readonly StringWriter _terminal = new();

    [Fact]
    public void Lines_ShowBytesRateAndTimeLeft_OncePerInterval()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines(Subject, _lines.Add, _time, TimeSpan.FromSeconds(2));

        display.Report(new ProgressReport(Writing, 0, Total));
        _time.Advance(TimeSpan.FromSeconds(1));
        display.Report(new ProgressReport(Writing, 256 * MiB, Total));
        Assert.Empty(_lines);
        _time.Advance(TimeSpan.FromSeconds(1));

        // At 2 s, from the last report: 256 MiB in 1 s, 268 MB/s; 1.25 GiB left at that rate: 5 s.
        Assert.Equal(["preparing m.bin: writing the model image, 256 MiB of 1.5 GiB (268 MB/s, 5 s left)"], _lines);
    }

    [Fact]
    public void Lines_ManyReports_AtMostOneLinePerInterval()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines(Subject, _lines.Add, _time, TimeSpan.FromSeconds(2));

        for (int i = 1; i <= 50; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            display.Report(new ProgressReport(Writing, i * 10 * MiB, Total));
        }

        Assert.Equal(2, _lines.Count); // at 2 s and 4 s of the 5
        Assert.StartsWith("preparing m.bin: writing the model image, 190 MiB of 1.5 GiB (", _lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Lines_AStepWithoutReports_StillShowsItsElapsedTime_AndNeverAnInventedTotal()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines("preparing m.onnx", _lines.Add, _time, TimeSpan.FromSeconds(2));

        display.Report(new ProgressReport("optimizing in ONNX Runtime"));
        _time.Advance(TimeSpan.FromSeconds(2));
        _time.Advance(TimeSpan.FromSeconds(1));
        display.Report(new ProgressReport("writing the baked model", 50_000_000));
        _time.Advance(TimeSpan.FromSeconds(1));
        display.Report(new ProgressReport("writing the baked model", 150_000_000));
        _time.Advance(TimeSpan.FromSeconds(2));

        // The first sight of a file already written says nothing of speed; the next one, a second later, does.
        Assert.Equal(
            [
                "preparing m.onnx: optimizing in ONNX Runtime (2 s so far)",
                "preparing m.onnx: writing the baked model, 47.7 MiB, total not known (1 s so far)",
                "preparing m.onnx: writing the baked model, 143 MiB, total not known (100 MB/s, 3 s so far)",
            ],
            _lines);
    }

    [Fact]
    public void Lines_BeforeAnyReport_ShowNothing_AndTheFinalLineIsWrittenAsGiven()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines(Subject, _lines.Add, _time, TimeSpan.FromSeconds(2));

        _time.Advance(TimeSpan.FromSeconds(10));
        display.Finish("reused model image /c/m.ssimg (up to date)");
        _time.Advance(TimeSpan.FromSeconds(10));
        display.Report(new ProgressReport(Writing, MiB, Total));

        Assert.Equal(["reused model image /c/m.ssimg (up to date)"], _lines);
    }

    [Fact]
    public void Lines_ZeroInterval_OneLinePerReport_WithoutControlCharacters()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines(Subject, _lines.Add, _time, TimeSpan.Zero);

        display.Report(new ProgressReport("hashing the source", 0, Total));
        _time.Advance(TimeSpan.FromSeconds(1));
        display.Report(new ProgressReport("hashing the source", Total, Total));
        display.Report(new ProgressReport(Writing));
        display.Finish("built");

        Assert.Equal(
            [
                "preparing m.bin: hashing the source, 0 B of 1.5 GiB (0 s so far)",
                "preparing m.bin: hashing the source, 1.5 GiB of 1.5 GiB (1611 MB/s, 0 s left)",
                "preparing m.bin: writing the model image (0 s so far)",
                "built",
            ],
            _lines);
        Assert.All(_lines, line => Assert.DoesNotContain(line, c => char.IsControl(c)));
    }

    [Fact]
    public void Elapsed_IsTheTimeSinceTheDisplayStarted_ForTheFinalLine()
    {
        using ProgressDisplay display = ProgressDisplay.ForLines(Subject, _lines.Add, _time, TimeSpan.FromSeconds(2));

        _time.Advance(TimeSpan.FromMilliseconds(4100));

        Assert.Equal("4.1 s", ProgressDisplay.FormatElapsed(display.Elapsed));
    }

    [Fact]
    public void Terminal_RedrawsOneLineInPlace_AtMostTenTimesASecond()
    {
        using ProgressDisplay display = ProgressDisplay.ForTerminal(Subject, _terminal, 120, _lines.Add, _time);

        for (int i = 1; i <= 100; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(10));
            display.Report(new ProgressReport(Writing, i * MiB, Total));
        }

        string output = _terminal.ToString();
        Assert.Equal(10, output.Split('\r').Length - 1); // one draw per 100 ms over 1 s
        Assert.DoesNotContain('\n', output);
        Assert.Empty(_lines);
    }

    [Fact]
    public void Terminal_BarShowsFractionBytesRateAndTimeLeft()
    {
        using ProgressDisplay display = ProgressDisplay.ForTerminal(Subject, _terminal, 120, _lines.Add, _time);

        display.Report(new ProgressReport(Writing, 0, Total));
        _time.Advance(TimeSpan.FromMilliseconds(50));
        display.Report(new ProgressReport(Writing, 12 * MiB, Total));
        Assert.Equal("", _terminal.ToString());
        _time.Advance(TimeSpan.FromMilliseconds(50));
        Assert.Equal("\rpreparing m.bin: writing the model image [....................] 12.0 MiB / 1.5 GiB  252 MB/s  6 s left", _terminal.ToString());
        for (int i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        display.Report(new ProgressReport(Writing, 384 * MiB, Total));
        _time.Advance(TimeSpan.FromMilliseconds(100));

        // 384 MiB in 1.1 s: 366 MB/s; a quarter done; 1.125 GiB left at that rate: 3 s. A space covers the end of
        // the previous, longer draw.
        string last = _terminal.ToString().Split('\r')[^1];
        Assert.Equal("preparing m.bin: writing the model image [#####...............] 384 MiB / 1.5 GiB  366 MB/s  3 s left ", last);
    }

    [Fact]
    public void Terminal_WithoutATotal_SpinsAndCountsTime()
    {
        using ProgressDisplay display = ProgressDisplay.ForTerminal("preparing m.onnx", _terminal, 120, _lines.Add, _time);

        display.Report(new ProgressReport("optimizing in ONNX Runtime"));
        for (int i = 0; i < 12; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        string[] draws = _terminal.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, draws.Length);
        Assert.Equal("preparing m.onnx: optimizing in ONNX Runtime | 0 s", draws[0]);
        Assert.Equal("preparing m.onnx: optimizing in ONNX Runtime / 0 s", draws[1].TrimEnd());
        Assert.Equal("preparing m.onnx: optimizing in ONNX Runtime \\ 1 s", draws[11].TrimEnd());
        Assert.DoesNotContain('[', _terminal.ToString());
    }

    [Fact]
    public void Terminal_NarrowerThanTheBar_KeepsTheNumbers_AndNeverWraps()
    {
        using ProgressDisplay display = ProgressDisplay.ForTerminal(Subject, _terminal, 60, _lines.Add, _time);

        display.Report(new ProgressReport(Writing, 0, Total));
        for (int i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        display.Report(new ProgressReport(Writing, 512 * MiB, Total));
        _time.Advance(TimeSpan.FromMilliseconds(100));

        // The bar goes, then the end of the step's name; the numbers stay.
        string draw = _terminal.ToString().Split('\r', StringSplitOptions.RemoveEmptyEntries)[^1];
        Assert.Equal("preparing m.bin: w... 512 MiB / 1.5 GiB  537 MB/s  2 s left", draw);
        Assert.All(_terminal.ToString().Split('\r'), d => Assert.True(d.Length <= 59, d));
    }

    [Fact]
    public void Terminal_Finish_ErasesTheBar_ThenWritesTheFinalLine()
    {
        using ProgressDisplay display = ProgressDisplay.ForTerminal(Subject, _terminal, 120, _lines.Add, _time);
        display.Report(new ProgressReport(Writing, 0, Total));
        _time.Advance(TimeSpan.FromMilliseconds(100));
        string bar = _terminal.ToString()[1..];

        display.Finish("built model image /c/m.ssimg (1.5 GiB) in 0.1 s");
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal($"\r{bar}\r{new string(' ', bar.Length)}\r", _terminal.ToString());
        Assert.Equal(["built model image /c/m.ssimg (1.5 GiB) in 0.1 s"], _lines);
    }

    [Fact]
    public void Terminal_DisposedWithoutFinish_ErasesTheBar_SoAnErrorStartsOnACleanLine()
    {
        var display = ProgressDisplay.ForTerminal(Subject, _terminal, 120, _lines.Add, _time);
        display.Report(new ProgressReport(Writing, 0, Total));
        _time.Advance(TimeSpan.FromMilliseconds(100));

        display.Dispose();
        display.Report(new ProgressReport(Writing, MiB, Total));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.EndsWith($"\r{new string(' ', _terminal.ToString().IndexOf('\r', 1) - 1)}\r", _terminal.ToString(), StringComparison.Ordinal);
        Assert.Empty(_lines);
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1023, "1023 B")]
    [InlineData(41_164, "40.2 KiB")]
    [InlineData(3_346_262, "3.2 MiB")]
    [InlineData(536_870_912, "512 MiB")]
    [InlineData(1_288_490_189, "1.2 GiB")]
    public void FormatBytes_UsesBinaryUnits(long bytes, string expected) =>
        Assert.Equal(expected, ProgressDisplay.FormatBytes(bytes));

    [Theory]
    [InlineData(400, "0.4 s")]
    [InlineData(42_000, "42.0 s")]
    [InlineData(125_000, "2 min 5 s")]
    [InlineData(3_780_000, "1 h 3 min")]
    public void FormatElapsed_IsReadable(int milliseconds, string expected) =>
        Assert.Equal(expected, ProgressDisplay.FormatElapsed(TimeSpan.FromMilliseconds(milliseconds)));
}
