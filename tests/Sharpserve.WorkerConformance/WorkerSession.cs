namespace Sharpserve.WorkerConformance;

/// <summary>
/// One worker under test and the suite's front for it: listens, launches the worker, accepts its connection, and
/// exchanges frames, every wait bounded. Failures carry what the worker printed. Disposing kills the worker if it
/// still runs (by its pid) and removes the private folder.
/// </summary>
public sealed class WorkerSession : IAsyncDisposable
{
    /// <summary>The bound on every wait: a conforming worker is far quicker, so reaching it means something is stuck.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private WorkerSession(FakeFront front, WorkerHandle worker, int workerId)
    {
        Front = front;
        Worker = worker;
        WorkerId = workerId;
    }

    public FakeFront Front { get; }

    public WorkerHandle Worker { get; }

    public int WorkerId { get; }

    /// <summary>Listens, starts the worker through <paramref name="start"/> and accepts its connection.</summary>
    public static async Task<WorkerSession> LaunchAsync(Func<WorkerStartInfo, WorkerHandle> start, ConformanceModel model, int workerId)
    {
        ArgumentNullException.ThrowIfNull(start);
        FakeFront front = FakeFront.Listen();
        WorkerHandle worker;
        try
        {
            worker = start(new WorkerStartInfo(front.SocketPath, workerId, model, front.Directory));
        }
        catch
        {
            await front.DisposeAsync();
            throw;
        }

        var session = new WorkerSession(front, worker, workerId);
        Task<bool> exited = worker.WaitForExitAsync(Bound);
        if (!await front.AcceptAsync(exited))
        {
            string why = worker.HasExited ? $"exited with status {worker.ExitCode} before connecting" : $"did not connect within {Bound}";
            await session.DisposeAsync();
            Assert.Fail($"the worker {why}; it printed:\n{worker.Output}");
        }

        return session;
    }

    /// <summary>Launches the worker and reads its Hello and Ready, checking both.</summary>
    public static async Task<WorkerSession> LaunchReadyAsync(Func<WorkerStartInfo, WorkerHandle> start, ConformanceModel model, int workerId)
    {
        WorkerSession session = await LaunchAsync(start, model, workerId);
        try
        {
            (ushort version, int pid, int id) = WireReader.ReadHello(await session.ReceiveAsync("Hello"));
            Assert.True(version == WireLimits.ProtocolVersion, $"the worker's Hello says protocol {version}, expected {WireLimits.ProtocolVersion}");
            Assert.True(pid == session.Worker.Pid, $"the worker's Hello says pid {pid}; the launched worker is {session.Worker.Pid}");
            Assert.True(id == workerId, $"the worker's Hello says id {id}; it was given {workerId}");
            WireReader.ReadReady(await session.ReceiveAsync("Ready"));
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends the frames in one write, as a front's coalescing writer does.</summary>
    public Task SendAsync(params byte[][] frames) => SendBytesAsync([.. frames.SelectMany(f => f)]);

    public async Task SendBytesAsync(byte[] bytes)
    {
        try
        {
            await Front.SendAsync(bytes, Bound);
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{e.Message}; it printed:\n{Worker.Output}");
        }
    }

    /// <summary>The next frame; fails when the connection ends or nothing comes within the bound.</summary>
    public async Task<WireFrame> ReceiveAsync(string expecting)
    {
        WireFrame? frame = await ReceiveOrEndAsync(expecting);
        if (frame is null)
        {
            await Worker.WaitForExitAsync(TimeSpan.FromSeconds(5));
            string status = Worker.HasExited ? $"exited with status {Worker.ExitCode}" : "still runs";
            Assert.Fail($"expected {expecting}, but the worker closed the connection (it {status}); it printed:\n{Worker.Output}");
        }

        return frame;
    }

    /// <summary>The next frame, or null when the worker closed the connection.</summary>
    public async Task<WireFrame?> ReceiveOrEndAsync(string expecting)
    {
        try
        {
            return await Front.ReadFrameAsync(Bound);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"expected {expecting}, but nothing came within {Bound}; the worker printed:\n{Worker.Output}");
            throw;
        }
    }

    /// <summary>Reads frames until the worker closes the connection; returns them.</summary>
    public async Task<List<WireFrame>> ReceiveUntilEndAsync(string expecting)
    {
        var frames = new List<WireFrame>();
        while (await ReceiveOrEndAsync(expecting) is { } frame)
        {
            frames.Add(frame);
        }

        return frames;
    }

    /// <summary>Waits (bounded) for the worker to exit and returns its status.</summary>
    public async Task<int> ExpectExitAsync(string why)
    {
        if (!await Worker.WaitForExitAsync(Bound))
        {
            Assert.Fail($"the worker should exit ({why}) but still runs after {Bound}; it printed:\n{Worker.Output}");
        }

        return Worker.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Worker.Dispose();
        await Front.DisposeAsync();
    }
}
