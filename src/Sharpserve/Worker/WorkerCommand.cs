using System.CommandLine;
using System.Net.Sockets;
using Sharpserve.Abstractions;
using Sharpserve.Cli;
using Sharpserve.Hosting;
using Sharpserve.Ipc;

namespace Sharpserve.Worker;

/// <summary>
/// <c>sharpserve worker</c> (internal): one worker process of process mode, started by the front with everything it
/// needs in its arguments. Connects to the front's Unix socket, says Hello, loads the model, warms up (executors and
/// the frame codec), says Ready, then serves until Shutdown, or exits when the front goes away (socket closed or
/// parent changed).
/// </summary>
internal static class WorkerCommand
{
    /// <summary>
    /// Wraps the model a worker serves; null in sharpserve itself. A program built on Sharpserve (the tests' fault
    /// host) sets it before running the command line, so its workers serve a decorated model.
    /// </summary>
    public static Func<IModel, IModel>? ModelDecorator { get; set; }

    public static Command Create()
    {
        var socket = new Option<string>("--socket") { Description = "the front's Unix socket", Required = true };
        var model = new Option<string>("--model") { Description = "the prepared model to map", Required = true };
        var name = new Option<string>("--name") { Description = "the model's name", DefaultValueFactory = _ => "model" };
        var id = new Option<int>("--id") { Description = "this worker's id, given by the front", Required = true };
        var threads = new Option<int>("--threads") { Description = "executor threads", DefaultValueFactory = _ => 1 };
        var settings = new Option<string[]>("--setting") { Description = "a backend setting, NAME=VALUE (repeatable)", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("worker", "Internal: one worker process of 'serve --workers N'.") { socket, model, name, id, threads, settings };
        command.Hidden = true;
        command.SetAction((parsed, _) => RunAsync(
            parsed.GetValue(socket)!, parsed.GetValue(model)!, parsed.GetValue(name)!, parsed.GetValue(id), parsed.GetValue(threads),
            parsed.GetValue(settings) ?? []));
        return command;
    }

    private static async Task<int> RunAsync(string socketPath, string modelPath, string name, int workerId, int threads, string[] settings)
    {
        if (threads < 1)
        {
            return CommandLine.Fail("worker is started by 'sharpserve serve --workers N', not by hand");
        }

        int parentPid = NativeMethods.GetParentProcessId();
        using Timer orphanWatch = new(static state =>
        {
            // The front died without closing our socket cleanly (e.g. SIGKILL while we were busy): never outlive it.
            if (NativeMethods.GetParentProcessId() != (int)state!)
            {
                Environment.Exit(0);
            }
        }, parentPid, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        var host = new WorkerHost();
        await using var connection = new FrameConnection(socket, host);
        host.Attach(connection);
        connection.Start();
        connection.TrySend(OutgoingFrame.Hello(Environment.ProcessId, workerId));
        IModel model;
        try
        {
            // The front prepared the model; the worker opens it as the front's settings say, given in its arguments.
            model = ModelLoader.Open(modelPath, name, BackendCatalog.FromWorkerSettings(ParseSettings(settings)));
        }
        catch (Exception ex) when (ex is ModelLoadException or ArgumentException)
        {
            Console.Error.WriteLine($"cannot load the model: {ex.Message}");
            return 1;
        }

        if (ModelDecorator is { } decorate)
        {
            model = decorate(model);
        }

        using (model)
        {
            try
            {
                await host.WarmUpAsync(model, threads);
            }
            catch (InvalidOperationException ex)
            {
                // The model failed its own warm-up requests: it cannot serve.
                Console.Error.WriteLine($"warm-up failed: {ex.Message}");
                await host.StopAsync();
                return 1;
            }

            return await host.ServeAsync(connection, onReady: () => Console.Error.WriteLine(
                $"ready: model '{name}' mapped ({model.MappedBytes} bytes), {threads} executor thread(s), {GcMode()}"));
        }
    }

    /// <summary>NAME=VALUE pairs from --setting arguments.</summary>
    private static List<KeyValuePair<string, string>> ParseSettings(string[] settings)
    {
        var pairs = new List<KeyValuePair<string, string>>(settings.Length);
        foreach (string setting in settings)
        {
            int equals = setting.IndexOf('=', StringComparison.Ordinal);
            pairs.Add(equals > 0
                ? new(setting[..equals], setting[(equals + 1)..])
                : throw new ArgumentException($"--setting must be NAME=VALUE, got '{setting}'"));
        }

        return pairs;
    }

    /// <summary>e.g. "Server GC, concurrent off": the mode the runtime chose (Sharpserve.csproj, or DOTNET_gcServer / DOTNET_gcConcurrent).</summary>
    private static string GcMode() =>
        $"{(System.Runtime.GCSettings.IsServerGC ? "Server" : "Workstation")} GC, concurrent {(System.Runtime.GCSettings.LatencyMode == System.Runtime.GCLatencyMode.Batch ? "off" : "on")}";
}
