using System.CommandLine;
using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using Sharpserve.Abstractions;
using Sharpserve.Cli;
using Sharpserve.Hosting;
using Sharpserve.Ipc;

namespace Sharpserve.Worker;

/// <summary>
/// <c>sharpserve worker</c> (internal): one worker process of process mode. Connects to the front's Unix socket,
/// says Hello, maps the model image, warms up (executors and the frame codec), says Ready, then serves Infer
/// frames pipelined until Shutdown, or exits when the front goes away (socket closed or parent changed).
/// </summary>
internal static class WorkerCommand
{
    public static Command Create()
    {
        var socket = new Option<string>("--socket") { Description = "the front's Unix socket", Required = true };
        var model = new Option<string>("--model") { Description = "the prepared model to map", Required = true };
        var name = new Option<string>("--name") { Description = "the model's name", DefaultValueFactory = _ => "model" };
        var id = new Option<int>("--id") { Description = "this worker's id, given by the front", Required = true };
        var threads = new Option<int>("--threads") { Description = "executor threads", DefaultValueFactory = _ => 1 };
        var command = new Command("worker", "Internal: one worker process of 'serve --workers N'.") { socket, model, name, id, threads };
        command.Hidden = true;
        command.SetAction((parsed, _) => RunAsync(
            parsed.GetValue(socket)!, parsed.GetValue(model)!, parsed.GetValue(name)!, parsed.GetValue(id), parsed.GetValue(threads)));
        return command;
    }

    private static async Task<int> RunAsync(string socketPath, string modelPath, string name, int workerId, int threads)
    {
        if (threads < 1)
        {
            return CommandLine.Fail("worker is started by 'sharpserve serve --workers N', not by hand");
        }

        int parentPid = NativeMethods.GetParentProcessId();
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        PipeReader reader = PipeReader.Create(stream);
        PipeWriter writer = PipeWriter.Create(stream);
        FrameWriter.WriteHello(writer, Environment.ProcessId, workerId);
        await writer.FlushAsync();

        using Timer orphanWatch = new(static state =>
        {
            // The front died without closing our socket cleanly (e.g. SIGKILL while we were busy): never outlive it.
            if (NativeMethods.GetParentProcessId() != (int)state!)
            {
                Environment.Exit(0);
            }
        }, parentPid, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        IModel model;
        try
        {
            model = ModelLoader.Load(modelPath, name);
        }
        catch (ModelLoadException ex)
        {
            Console.Error.WriteLine($"cannot load the model: {ex.Message}");
            return 1;
        }

        using (model)
        {
            var worker = new WorkerLoop(model, threads, writer);
            await worker.WarmUpAsync();
            await Task.Delay(WorkerFaults.ReadyDelay); // zero unless a test asks for a slow-loading model
            if (WorkerFaults.DieAtStart)
            {
                Console.Error.WriteLine("test fault injected: die at start");
                return 3;
            }

            FrameWriter.WriteReady(writer, model.MappedBytes);
            await writer.FlushAsync();
            Console.Error.WriteLine($"ready: model '{name}' mapped ({model.MappedBytes} bytes), {threads} executor thread(s), {GcMode()}");
            return await worker.RunAsync(reader);
        }
    }

    /// <summary>e.g. "Server GC, concurrent off": the mode the runtime chose (Sharpserve.csproj, or DOTNET_gcServer / DOTNET_gcConcurrent).</summary>
    private static string GcMode() =>
        $"{(System.Runtime.GCSettings.IsServerGC ? "Server" : "Workstation")} GC, concurrent {(System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch ? "off" : "on")}";
}
