namespace Sharpserve.WorkerConformance;

/// <summary>
/// The worker conformance suite: plays the front of docs/worker-protocol.md against a real worker process, with
/// frames built and parsed by hand from the specification. A worker implementation derives a test class from this
/// one, saying how to start a worker (<see cref="StartWorker"/>) and which models to serve (<see cref="Models"/>).
/// Every wait is bounded (<see cref="WorkerSession.Bound"/>); no test asserts on time.
/// </summary>
public abstract partial class WorkerConformanceTests
{
    /// <summary>The worker id most tests give; another test checks that a large one comes back too.</summary>
    protected const int DefaultWorkerId = 1;

    /// <summary>
    /// The models to serve, with their cases. Together their inputs and outputs must cover every datatype. The
    /// first model drives the tests that are not about one model (pipelining, ping, drain, shutdown, protocol
    /// errors): give it several cases whose answers differ.
    /// </summary>
    protected abstract IReadOnlyList<ConformanceModel> Models { get; }

    /// <summary>
    /// Starts one worker that connects to <see cref="WorkerStartInfo.SocketPath"/>, says Hello with
    /// <see cref="WorkerStartInfo.WorkerId"/> and serves <see cref="WorkerStartInfo.Model"/>.
    /// </summary>
    protected abstract WorkerHandle StartWorker(WorkerStartInfo start);

    private ConformanceModel PrimaryModel => Models[0];

    [Fact]
    public void Models_CoverEveryDatatype_InInputsAndInOutputs()
    {
        var inputs = new HashSet<WireDataType>();
        var outputs = new HashSet<WireDataType>();
        foreach (ConformanceCase c in Models.SelectMany(m => m.Cases))
        {
            inputs.UnionWith(c.Request.Inputs.Select(t => t.DataType));
            outputs.UnionWith(c.ExpectedOutputs.Select(t => t.DataType));
        }

        WireDataType[] all = Enum.GetValues<WireDataType>();
        Assert.True(inputs.IsSupersetOf(all), $"no case sends {string.Join(", ", all.Except(inputs).Select(WireLimits.ProtocolName))}");
        Assert.True(outputs.IsSupersetOf(all), $"no case expects {string.Join(", ", all.Except(outputs).Select(WireLimits.ProtocolName))}");
        Assert.True(PrimaryModel.Cases.Count >= 2, "the first model needs at least two cases, so pipelined answers can be told apart");
        Assert.Contains(Models, m => m.BadInputs.Count > 0);
    }

    [Theory]
    [InlineData(DefaultWorkerId)]
    [InlineData(2_000_000_011)]
    public async Task Hello_IsTheFirstFrame_WithTheVersionTheWorkersPidAndTheGivenId(int workerId)
    {
        await using WorkerSession session = await WorkerSession.LaunchAsync(StartWorker, PrimaryModel, workerId);

        WireFrame hello = await session.ReceiveAsync("Hello");

        Assert.True(hello.Is(WireFrameType.Hello), $"the first frame must be Hello, got {hello}");
        Assert.Equal(0UL, hello.RequestId);
        (ushort version, int pid, int id) = WireReader.ReadHello(hello);
        Assert.Equal(WireLimits.ProtocolVersion, version);
        Assert.Equal(session.Worker.Pid, pid);
        Assert.Equal(session.Front.PeerProcessId(), pid);
        Assert.Equal(workerId, id);
    }

    [Fact]
    public async Task Ready_FollowsHello_WithTheBytesMapped()
    {
        await using WorkerSession session = await WorkerSession.LaunchAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        WireReader.ReadHello(await session.ReceiveAsync("Hello"));

        WireFrame ready = await session.ReceiveAsync("Ready");

        Assert.True(ready.Is(WireFrameType.Ready), $"the frame after Hello must be Ready, got {ready}");
        Assert.Equal(0UL, ready.RequestId);
        WireReader.ReadReady(ready);
    }

    [Fact]
    public async Task Infer_OfEveryCase_IsAnsweredWithItsExpectedOutputs()
    {
        foreach (ConformanceModel model in Models)
        {
            await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, model, DefaultWorkerId);
            ulong id = 1;
            foreach (ConformanceCase c in model.Cases)
            {
                await InferAndCheckAsync(session, id++, c);
            }
        }
    }

    [Fact]
    public async Task Infer_AskingForOneOutput_IsAnsweredWithIt()
    {
        ConformanceCase? full = Models.SelectMany(m => m.Cases).FirstOrDefault(c => c.ExpectedOutputs.Count >= 2 && c.Request.RequestedOutputs is null);
        Assert.True(full is not null, "no case has two outputs to choose from");
        ConformanceModel model = Models.First(m => m.Cases.Contains(full));
        WireTensor wanted = full.ExpectedOutputs[^1];
        var one = new ConformanceCase(full.Name + " (one output)", full.Request with { RequestedOutputs = [wanted.Name] }, [wanted], full.Tolerance);
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, model, DefaultWorkerId);

        await InferAndCheckAsync(session, 5, one);
    }

    /// <summary>The answer to <paramref name="c"/> sent with <paramref name="id"/> arrives next and matches.</summary>
    private static async Task InferAndCheckAsync(WorkerSession session, ulong id, ConformanceCase c)
    {
        await session.SendAsync(FrameBuilder.Infer(id, c.Request));
        WireFrame answer = await session.ReceiveAsync($"the answer to case {c.Name}");
        Assert.Equal(id, answer.RequestId);
        ResultAssert.Matches(c, answer);
    }
}
