namespace Sharpserve.WorkerConformance;

/// <summary>Bad input (a request the model refuses) and protocol errors (bytes that are not the protocol).</summary>
public abstract partial class WorkerConformanceTests
{
    /// <summary>The request id the malformed frames carry: a worker must not answer it.</summary>
    private const ulong MalformedId = 77;

    [Fact]
    public async Task BadInput_IsAnsweredWithABadInputError_AndTheWorkerServesOn()
    {
        foreach (ConformanceModel model in Models.Where(m => m.BadInputs.Count > 0))
        {
            await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, model, DefaultWorkerId);
            ConformanceCase good = model.Cases[0];
            ulong id = 100;
            foreach (BadInputCase bad in model.BadInputs)
            {
                // The refused request and a good one in one write: the worker answers both, each by its id.
                ulong badId = id++;
                ulong goodId = id++;
                await session.SendAsync(FrameBuilder.Infer(badId, bad.Request), FrameBuilder.Infer(goodId, good.Request));
                var answers = new Dictionary<ulong, WireFrame>();
                for (int i = 0; i < 2; i++)
                {
                    WireFrame answer = await session.ReceiveAsync($"the answers to bad input '{bad.Name}' and a good request");
                    Assert.True(answers.TryAdd(answer.RequestId, answer), $"request {answer.RequestId} was answered twice");
                }

                Assert.True(answers.ContainsKey(badId) && answers.ContainsKey(goodId), $"answers for [{string.Join(", ", answers.Keys)}], expected {badId} and {goodId}");
                Assert.True(answers[badId].Is(WireFrameType.Error), $"bad input '{bad.Name}' ({model.Name}) got {answers[badId]}, not an Error");
                (WireErrorKind kind, string message) = WireReader.ReadError(answers[badId]);
                Assert.True(kind == WireErrorKind.BadInput, $"bad input '{bad.Name}' ({model.Name}) got kind {kind} \"{message}\", not BadInput");
                Assert.False(string.IsNullOrWhiteSpace(message), $"bad input '{bad.Name}' got an Error without a message");
                ResultAssert.Matches(good, answers[goodId]);
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(255)]
    public async Task UnknownFrameType_IsAProtocolError(byte type)
    {
        await AssertProtocolErrorAsync(FrameBuilder.Frame(type, MalformedId, []), $"a frame of type {type}");
    }

    [Theory]
    [InlineData(WireFrameType.Hello)]
    [InlineData(WireFrameType.Ready)]
    [InlineData(WireFrameType.Result)]
    [InlineData(WireFrameType.Error)]
    [InlineData(WireFrameType.Pong)]
    public async Task FrameOnlyAWorkerSends_IsAProtocolError(WireFrameType type)
    {
        byte[] payload = type switch
        {
            WireFrameType.Hello => new WireWriter().U16(WireLimits.ProtocolVersion).I32(1).I32(1).ToArray(),
            WireFrameType.Ready => new WireWriter().I64(0).ToArray(),
            WireFrameType.Result => new WireWriter().U16(0).ToArray(),
            WireFrameType.Error => new WireWriter().U8((byte)WireErrorKind.BadInput).Raw("no"u8).ToArray(),
            _ => [],
        };
        await AssertProtocolErrorAsync(FrameBuilder.Frame(type, MalformedId, payload), $"a {type} frame from the front");
    }

    [Theory]
    [InlineData(WireLimits.MaxPayloadSize + 1)]
    [InlineData(uint.MaxValue)]
    public async Task OversizedFrame_IsRefusedFromItsHeader_WithoutWaitingForThePayload(uint length)
    {
        // Only the header is sent: a worker that waited for (or allocated) the payload would never close.
        await AssertProtocolErrorAsync(FrameBuilder.Header(length, (byte)WireFrameType.Infer, MalformedId), $"a header announcing {length} bytes");
    }

    public static TheoryData<string> MalformedInfers() => [.. MalformedInferPayloads.Names];

    [Theory]
    [MemberData(nameof(MalformedInfers))]
    public async Task MalformedInfer_IsAProtocolError(string malformation)
    {
        byte[] payload = MalformedInferPayloads.Build(malformation);
        await AssertProtocolErrorAsync(FrameBuilder.Frame(WireFrameType.Infer, MalformedId, payload), $"an Infer whose payload has {malformation}");
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> to a Ready worker; it must close the connection without answering them and
    /// exit with a non-zero status.
    /// </summary>
    private async Task AssertProtocolErrorAsync(byte[] bytes, string what)
    {
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(StartWorker, PrimaryModel, DefaultWorkerId);

        await session.SendBytesAsync(bytes);

        while (await session.ReceiveOrEndAsync($"the worker to close the connection after {what}") is { } frame)
        {
            Assert.Fail($"after {what} the worker sent {frame}; it must give up the connection without answering");
        }

        int status = await session.ExpectExitAsync($"after {what}");
        Assert.True(status != 0, $"after {what} the worker exited with status 0; a protocol error exits non-zero. It printed:\n{session.Worker.Output}");
    }
}
