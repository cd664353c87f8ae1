using System.Diagnostics;
using System.Globalization;
using Sharpserve.WorkerConformance;

namespace Sharpserve.WorkerConformance.Tests;

/// <summary>
/// docs/worker-protocol.md, section 8: a worker exits when its parent dies even while its connection stays open
/// (a front killed while the worker was busy). The C# worker notices its parent pid change; the connection is
/// held open here, so only that can make it exit.
/// </summary>
public sealed class OrphanedWorkerTests
{
    [Fact]
    public async Task Worker_WhoseParentDies_Exits_ThoughItsConnectionStaysOpen()
    {
        ConformanceModel model = ConformanceModels.All[0];
        int workerPid = 0;
        bool ended = false;
        // The worker's parent is a shell that the test kills; the worker itself is the shell's child.
        await using WorkerSession session = await WorkerSession.LaunchAsync(start => StartUnderShell(start), model, 1);
        try
        {
            (ushort version, workerPid, int id) = WireReader.ReadHello(await session.ReceiveAsync("Hello"));
            Assert.Equal((WireLimits.ProtocolVersion, 1), (version, id));
            Assert.NotEqual(session.Worker.Pid, workerPid);
            WireReader.ReadReady(await session.ReceiveAsync("Ready"));

            session.Worker.Kill();

            // The worker exits (its connection then ends) without a word from the front.
            List<WireFrame> frames = await session.ReceiveUntilEndAsync("the orphaned worker to exit and close its connection");
            ended = true;
            Assert.Empty(frames);
        }
        finally
        {
            if (!ended)
            {
                KillIfOurs(workerPid, session.Front.SocketPath);
            }
        }
    }

    private static WorkerHandle StartUnderShell(WorkerStartInfo start)
    {
        var shell = new ProcessStartInfo("/bin/sh");
        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        foreach (string argument in (string[])
        [
            "-c", "\"$0\" \"$@\" & wait", dotnet, Path.Combine(AppContext.BaseDirectory, "sharpserve.dll"), "worker",
            "--socket", start.SocketPath, "--model", start.Model.Reference, "--name", start.Model.Name,
            "--id", start.WorkerId.ToString(CultureInfo.InvariantCulture),
        ])
        {
            shell.ArgumentList.Add(argument);
        }

        shell.Environment["SHARPSERVE_CACHE_DIR"] = Path.Combine(start.ScratchDirectory, "cache");
        return ProcessWorkerHandle.Start(shell);
    }

    /// <summary>
    /// Kills the worker this test started, by the pid its Hello gave, and only while that pid is still a process whose
    /// command line names this test's socket (not a stranger that reused the pid).
    /// </summary>
    private static void KillIfOurs(int pid, string socketPath)
    {
        try
        {
            if (pid <= 0 || !File.ReadAllText($"/proc/{pid}/cmdline").Contains(socketPath, StringComparison.Ordinal))
            {
                return;
            }

            using var worker = Process.GetProcessById(pid);
            worker.Kill();
            worker.WaitForExit(TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            // Gone already.
        }
    }
}
