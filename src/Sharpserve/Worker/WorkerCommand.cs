using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Sharpserve.Abstractions;
using Sharpserve.Cli;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Scheduling;
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
    private static readonly string[] s_valueOptions = ["--socket", "--model", "--name", "--id", "--threads"];

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        ParsedArguments parsed = ParsedArguments.Parse(args, s_valueOptions, [], out string? error);
        string? socketPath = parsed.GetOption("--socket");
        string? modelPath = parsed.GetOption("--model");
        string name = parsed.GetOption("--name") ?? "model";
        if (error is not null || socketPath is null || modelPath is null ||
            !int.TryParse(parsed.GetOption("--id"), NumberStyles.None, CultureInfo.InvariantCulture, out int workerId) ||
            !int.TryParse(parsed.GetOption("--threads") ?? "1", NumberStyles.None, CultureInfo.InvariantCulture, out int threads) || threads < 1)
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
            FrameWriter.WriteReady(writer, model.MappedBytes);
            await writer.FlushAsync();
            Console.Error.WriteLine($"ready: model '{name}' mapped ({model.MappedBytes} bytes), {threads} executor thread(s)");
            return await worker.RunAsync(reader);
        }
    }

    /// <summary>The worker's serving loop: frames in, predictions on executor threads, frames out through one writer.</summary>
    private sealed class WorkerLoop
    {
        private readonly IModel _model;
        private readonly InferenceScheduler _scheduler;
        private readonly InProcessExecutor _executor;
        private readonly PipeWriter _writer;
        private readonly Channel<Outgoing> _outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
        private int _inFlight;
        private volatile bool _silent;

        public WorkerLoop(IModel model, int threads, PipeWriter writer)
        {
            _model = model;
            _writer = writer;
            // The front owns deadlines and queue limits; the worker's own queue only needs to hold what the front sends.
            _scheduler = new InferenceScheduler(new SchedulerOptions { QueueCapacity = 1 << 16, RequestTimeout = TimeSpan.FromDays(1) });
            _executor = new InProcessExecutor(model, _scheduler, threads);
        }

        /// <summary>Executors run the model's warm-up; then each warm-up request goes through the frame codec both ways.</summary>
        public async Task WarmUpAsync()
        {
            _executor.Start();
            await _executor.WarmedUp;
            var buffer = new ArrayBufferWriter<byte>();
            for (int round = 0; round < 20; round++)
            {
                foreach (InferenceRequest request in _model.WarmupRequests)
                {
                    buffer.ResetWrittenCount();
                    FrameWriter.WriteInfer(buffer, 1, request);
                    var sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                    FrameReader.TryRead(ref sequence, out Frame frame);
                    InferResult result = await _scheduler.SubmitAsync(PayloadReader.ReadInfer(frame.Payload));
                    buffer.ResetWrittenCount();
                    if (result.IsSuccess)
                    {
                        FrameWriter.WriteResult(buffer, 1, result.Response!);
                        sequence = new ReadOnlySequence<byte>(buffer.WrittenMemory);
                        FrameReader.TryRead(ref sequence, out frame);
                        PayloadReader.ReadResult(frame.Payload);
                    }
                    else
                    {
                        FrameWriter.WriteError(buffer, 1, result.Error!);
                    }
                }
            }
        }

        public async Task<int> RunAsync(PipeReader reader)
        {
            Task writing = WriteLoopAsync();
            try
            {
                await ReadLoopAsync(reader);
            }
            catch (IpcProtocolException ex)
            {
                Console.Error.WriteLine($"protocol error from the front: {ex.Message}");
                return 1;
            }
            catch (IOException)
            {
                // The front closed the socket: it is gone, so stop.
                return 0;
            }

            // Shutdown: finish what is in flight, flush the answers, exit 0.
            await _executor.StopAsync();
            SpinWait.SpinUntil(() => Volatile.Read(ref _inFlight) == 0, TimeSpan.FromSeconds(30));
            _outgoing.Writer.TryComplete();
            await writing;
            return 0;
        }

        private async Task ReadLoopAsync(PipeReader reader)
        {
            while (true)
            {
                ReadResult read = await reader.ReadAsync();
                ReadOnlySequence<byte> buffer = read.Buffer;
                bool shutdown = false;
                while (!shutdown && FrameReader.TryRead(ref buffer, out Frame frame))
                {
                    shutdown = Handle(frame);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (shutdown)
                {
                    return;
                }

                if (read.IsCompleted)
                {
                    throw new IOException("the front closed the connection");
                }
            }
        }

        /// <summary>Handles one frame; returns true on Shutdown.</summary>
        private bool Handle(in Frame frame)
        {
            switch (frame.Type)
            {
                case FrameType.Infer:
                    InferenceRequest request = PayloadReader.ReadInfer(frame.Payload);
                    if (WorkerFaults.Find(request) is { } fault && InjectFault(fault, frame.RequestId, request))
                    {
                        return false;
                    }

                    Interlocked.Increment(ref _inFlight);
                    _ = RunAsync(frame.RequestId, request);
                    return false;
                case FrameType.Ping:
                    if (!_silent)
                    {
                        _outgoing.Writer.TryWrite(new Outgoing(FrameType.Pong, frame.RequestId, default));
                    }

                    return false;
                case FrameType.Shutdown:
                case FrameType.Drain:
                    return frame.Type == FrameType.Shutdown;
                default:
                    throw new IpcProtocolException($"unexpected {frame.Type} frame from the front");
            }
        }

        private async Task RunAsync(ulong requestId, InferenceRequest request)
        {
            InferResult result = await _scheduler.SubmitAsync(request);
            _outgoing.Writer.TryWrite(new Outgoing(result.IsSuccess ? FrameType.Result : FrameType.Error, requestId, result));
            Interlocked.Decrement(ref _inFlight);
        }

        /// <summary>Applies a test fault; returns true when the request is taken care of (never answered, or answered later).</summary>
        private bool InjectFault(string fault, ulong requestId, InferenceRequest request)
        {
            Console.Error.WriteLine($"test fault injected: {fault}");
            switch (fault)
            {
                case WorkerFaults.Crash:
                    NativeMethods.Kill(Environment.ProcessId, NativeMethods.SigKill);
                    return true;
                case WorkerFaults.Silence:
                    _silent = true;
                    return true;
                case WorkerFaults.Slow:
                    Interlocked.Increment(ref _inFlight);
                    _ = SlowAsync(requestId, request);
                    return true;
                default:
                    return true; // Hang: never answered.
            }
        }

        private async Task SlowAsync(ulong requestId, InferenceRequest request)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            await RunAsync(requestId, request);
        }

        /// <summary>One writer drains every ready frame, then flushes once: answers that finish together share a write.</summary>
        private async Task WriteLoopAsync()
        {
            ChannelReader<Outgoing> outgoing = _outgoing.Reader;
            while (await outgoing.WaitToReadAsync())
            {
                while (outgoing.TryRead(out Outgoing frame))
                {
                    switch (frame.Type)
                    {
                        case FrameType.Result:
                            FrameWriter.WriteResult(_writer, frame.RequestId, frame.Result.Response!);
                            break;
                        case FrameType.Error:
                            FrameWriter.WriteError(_writer, frame.RequestId, frame.Result.Error!);
                            break;
                        default:
                            FrameWriter.WriteEmpty(_writer, frame.Type, frame.RequestId);
                            break;
                    }
                }

                FlushResult flushed = await _writer.FlushAsync();
                if (flushed.IsCompleted)
                {
                    return;
                }
            }
        }

        private readonly record struct Outgoing(FrameType Type, ulong RequestId, InferResult Result);
    }
}
