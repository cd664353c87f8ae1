using Sharpserve.Cli;

namespace Sharpserve.Tests.Cli;

/// <summary>System.CommandLine's "[default: …]" notes are cut from the help, also where a terminal's width wrapped them.</summary>
public sealed class HelpTextTests
{
    [Fact]
    public void OnOneLine_TheNoteGoes_AndTheDescriptionStays()
    {
        string help = "  --port <N>   TCP port (default 8000) [env SHARPSERVE_PORT] [default: 8000]\n  --next\n";

        Assert.Equal("  --port <N>   TCP port (default 8000) [env SHARPSERVE_PORT]\n  --next\n", CommandLine.WithoutGeneratedDefaults(help));
    }

    [Fact]
    public void WrappedOntoTheNextLine_OrInsideIt_TheNoteGoesWithItsIndent()
    {
        string wrappedBefore = "  -t <TIME>   kill a worker silent this long [env\n              SHARPSERVE_TIMEOUT]\n              [default: 00:00:30]\n  --next\n";
        string wrappedInside = "  -t <TIME>   kill a worker silent this long [env SHARPSERVE_TIMEOUT] [default:\n              00:00:30]\n  --next\n";

        Assert.Equal("  -t <TIME>   kill a worker silent this long [env\n              SHARPSERVE_TIMEOUT]\n  --next\n", CommandLine.WithoutGeneratedDefaults(wrappedBefore));
        Assert.Equal("  -t <TIME>   kill a worker silent this long [env SHARPSERVE_TIMEOUT]\n  --next\n", CommandLine.WithoutGeneratedDefaults(wrappedInside));
    }

    [Fact]
    public void TextWithoutNotes_IsUnchanged()
    {
        string help = "  -b, --bind <ADDRESS>   HOST:PORT, [IPv6]:PORT (default 127.0.0.1:8000)\n\nUsage:\n";

        Assert.Equal(help, CommandLine.WithoutGeneratedDefaults(help));
    }
}
