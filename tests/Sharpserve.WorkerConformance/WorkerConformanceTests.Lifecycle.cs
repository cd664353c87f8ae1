namespace Sharpserve.WorkerConformance;

/// <summary>Heartbeats, pipelining, Drain, Shutdown and the front going away.</summary>
public abstract partial class WorkerConformanceTests
{
    /// <summary>Request ids a front may use: any u64, including 0 and the largest; the worker only echoes them.</summary>
    private static readonly ulong[] s_requestIds = [.. RequestIds(WireLimits.MaxInFlightPerWorker)];

    [Fact]
    public async Task Ping_IsAnsweredWithAnEmptyPongOfTheSameId()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);

        foreach (ulong id in new[] { 1UL, 0UL, ulong.MaxValue, 0x0102030405060708UL })
        {
            await session.SendAsync(FrameBuilder.Ping(id));
            WireFrame pong = await session.ReceiveAsync($"the Pong to Ping {id}");
            Assert.True(pong.Is(WireFrameType.Pong), $"Ping {id} was answered with {pong}");
            Assert.Equal(id, pong.RequestId);
            Assert.Empty(pong.Payload);
        }
    }

    [Fact]
    public async Task Ping_AmongRequestsInFlight_IsAnsweredOnce_AndSoIsEveryRequest()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        const ulong PingId = 5;
        var frames = new List<byte[]>();
        var sent = new Dictionary<ulong, ConformanceCase>();
        for (int i = 0; i < 8; i++)
        {
            // Request ids and ping ids are separate: a Ping may carry the id of a request in flight.
            ulong id = (ulong)i + 1;
            sent[id] = PrimaryModel.Cases[i % PrimaryModel.Cases.Count];
            frames.Add(FrameBuilder.Infer(id, sent[id].Request));
            if (i == 3)
            {
                frames.Add(FrameBuilder.Ping(PingId));
            }
        }

        await session.SendAsync([.. frames]);

        await ExpectAnswersAsync(session, sent, PingId);
    }

    [Fact]
    public async Task PipelinedRequests_AreEachAnsweredOnce_MatchedByTheirIds()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        Dictionary<ulong, ConformanceCase> sent = AssignCases(s_requestIds);

        await session.SendAsync([.. sent.Select(s => FrameBuilder.Infer(s.Key, s.Value.Request))]);

        await ExpectAnswersAsync(session, sent);
    }

    [Fact]
    public async Task FramesSplitAcrossManyWrites_AreReassembled()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        Dictionary<ulong, ConformanceCase> sent = AssignCases(s_requestIds[..4]);
        byte[] bytes = [.. sent.SelectMany(s => FrameBuilder.Infer(s.Key, s.Value.Request)), .. FrameBuilder.Ping(9)];

        // Pieces of 1 to 7 bytes, so frame and field boundaries fall everywhere, including inside the header.
        for (int offset = 0, piece = 1; offset < bytes.Length; offset += piece, piece = (piece % 7) + 1)
        {
            await session.SendBytesAsync(bytes[offset..Math.Min(bytes.Length, offset + piece)]);
        }

        await ExpectAnswersAsync(session, sent, pingId: 9);
    }

    [Fact]
    public async Task Drain_IsIgnored_AndTheWorkerServesOn()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);

        await session.SendAsync(FrameBuilder.Drain());
        Dictionary<ulong, ConformanceCase> sent = AssignCases(s_requestIds[..3]);
        await session.SendAsync([.. sent.Select(s => FrameBuilder.Infer(s.Key, s.Value.Request)), FrameBuilder.Ping(3)]);

        await ExpectAnswersAsync(session, sent, pingId: 3);
        await InferAndCheckAsync(session, 1000, PrimaryModel.Cases[0]);
    }

    [Fact]
    public async Task Shutdown_WhenIdle_ClosesTheConnection_AndExitsZero()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);

        await session.SendAsync(FrameBuilder.Shutdown());

        List<WireFrame> after = await session.ReceiveUntilEndAsync("the worker to close the connection after Shutdown");
        Assert.True(after.Count == 0, $"an idle worker sent {string.Join(", ", after)} after Shutdown");
        Assert.Equal(0, await session.ExpectExitAsync("after Shutdown"));
    }

    [Fact]
    public async Task Shutdown_AfterRequests_AnswersThemAll_ThenClosesTheConnection_AndExitsZero()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        Dictionary<ulong, ConformanceCase> sent = AssignCases(s_requestIds[..16]);

        await session.SendAsync([.. sent.Select(s => FrameBuilder.Infer(s.Key, s.Value.Request)), FrameBuilder.Shutdown()]);

        List<WireFrame> answers = await session.ReceiveUntilEndAsync("the answers to the requests sent before Shutdown");
        var answered = new HashSet<ulong>();
        foreach (WireFrame answer in answers)
        {
            Assert.True(sent.TryGetValue(answer.RequestId, out ConformanceCase? c), $"{answer} answers no request sent");
            Assert.True(answered.Add(answer.RequestId), $"request {answer.RequestId} was answered twice");
            ResultAssert.Matches(c, answer);
        }

        Assert.True(answered.Count == sent.Count, $"{sent.Count - answered.Count} of {sent.Count} requests sent before Shutdown were not answered");
        Assert.Equal(0, await session.ExpectExitAsync("after Shutdown"));
    }

    [Fact]
    public async Task ConnectionClosedByTheFront_MakesAnIdleWorkerExit()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);

        session.Front.CloseConnection();

        await session.ExpectExitAsync("once the front closed the connection");
    }

    [Fact]
    public async Task ConnectionClosedByTheFront_WithRequestsInFlight_MakesTheWorkerExit()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        Dictionary<ulong, ConformanceCase> sent = AssignCases(s_requestIds[..8]);
        await session.SendAsync([.. sent.Select(s => FrameBuilder.Infer(s.Key, s.Value.Request))]);

        session.Front.CloseConnection();

        await session.ExpectExitAsync("once the front closed the connection");
    }

    [Fact]
    public async Task ConnectionClosedByTheFront_InsideAFrame_MakesTheWorkerExit()
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);
        byte[] infer = FrameBuilder.Infer(1, PrimaryModel.Cases[0].Request);
        await session.SendBytesAsync(infer[..(WireLimits.HeaderSize + 3)]);

        session.Front.CloseConnection();

        await session.ExpectExitAsync("once the front closed the connection");
    }

    /// <summary>Reads until every request in <paramref name="sent"/> is answered (and the Ping, if any); checks each.</summary>
    private static async Task ExpectAnswersAsync(WorkerSession session, Dictionary<ulong, ConformanceCase> sent, ulong? pingId = null)
    {
        var answered = new HashSet<ulong>();
        bool ponged = pingId is null;
        while (answered.Count < sent.Count || !ponged)
        {
            WireFrame frame = await session.ReceiveAsync($"answers to {sent.Count} requests ({answered.Count} so far)");
            if (frame.Is(WireFrameType.Pong))
            {
                Assert.True(!ponged && frame.RequestId == pingId, $"unexpected {frame}");
                ponged = true;
                continue;
            }

            Assert.True(sent.TryGetValue(frame.RequestId, out ConformanceCase? c), $"{frame} answers no request sent");
            Assert.True(answered.Add(frame.RequestId), $"request {frame.RequestId} was answered twice");
            ResultAssert.Matches(c, frame);
        }
    }

    /// <summary>The first model's cases, in turn, to <paramref name="ids"/>.</summary>
    private Dictionary<ulong, ConformanceCase> AssignCases(ReadOnlySpan<ulong> ids)
    {
        var cases = new Dictionary<ulong, ConformanceCase>();
        for (int i = 0; i < ids.Length; i++)
        {
            cases.Add(ids[i], PrimaryModel.Cases[i % PrimaryModel.Cases.Count]);
        }

        return cases;
    }

    /// <summary>Distinct ids spread over the u64 range, the extremes first.</summary>
    private static IEnumerable<ulong> RequestIds(int count)
    {
        yield return 0;
        yield return ulong.MaxValue;
        yield return 1UL << 63;
        yield return uint.MaxValue + 1UL;
        for (ulong i = 0; i < (ulong)count - 4; i++)
        {
            yield return 0x9E3779B97F4A7C15UL * (i + 1);
        }
    }
}
