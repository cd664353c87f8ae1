using System.Globalization;
using Sharpserve.WorkerConformance;

namespace Sharpserve.WorkerConformance.Tests;

/// <summary>
/// The worked examples of docs/worker-protocol.md (its <c>```hex</c> blocks) are real bytes: each decodes as the
/// specification says, and the C# worker, serving string_label_encoder.onnx, answers the example Ping and Infer
/// with exactly the example Pong and Result.
/// </summary>
public sealed class ProtocolExampleTests
{
    private static readonly Dictionary<string, byte[]> s_examples = ReadExamples(Path.Combine(AppContext.BaseDirectory, "data", "worker-protocol.md"));

    [Fact]
    public void HelloExample_IsAVersion2HelloFromPid4242WithWorkerId1()
    {
        WireFrame hello = Parse(s_examples["hello"]);

        Assert.Equal((WireLimits.ProtocolVersion, 4242, 1), WireReader.ReadHello(hello));
        Assert.Equal(0UL, hello.RequestId);
    }

    [Fact]
    public void PingAndPongExamples_AreEmptyFramesWithId7()
    {
        Assert.Equal(FrameBuilder.Ping(7), s_examples["ping"]);
        Assert.Equal(FrameBuilder.Frame(WireFrameType.Pong, 7, []), s_examples["pong"]);
    }

    [Fact]
    public void InferExample_IsTheFramesFieldsInOrder()
    {
        var request = new WireRequest([WireTensor.Strings("text", [2], "dog", "h\u00e9ron")]);

        Assert.Equal(FrameBuilder.Infer(42, request), s_examples["infer"]);
    }

    [Fact]
    public async Task Worker_AnswersTheExamplePingAndInfer_WithTheExamplePongAndResult()
    {
        string model = Path.Combine(AppContext.BaseDirectory, "data", "onnx", "string_label_encoder.onnx");
        var labelEncoder = new ConformanceModel("string_label_encoder", model, [], []);
        await using WorkerSession session = await WorkerSession.LaunchReadyAsync(start => CSharpWorker.Start(start, threads: 1), labelEncoder, 1);

        await session.SendBytesAsync(s_examples["ping"]);
        Assert.Equal(s_examples["pong"], Bytes(await session.ReceiveAsync("the Pong")));

        await session.SendBytesAsync(s_examples["infer"]);
        WireFrame result = await session.ReceiveAsync("the Result");
        Assert.Equal(Convert.ToHexString(s_examples["result"]), Convert.ToHexString(Bytes(result)));
    }

    private static byte[] Bytes(WireFrame frame) => FrameBuilder.Frame(frame.Type, frame.RequestId, frame.Payload);

    private static WireFrame Parse(byte[] bytes)
    {
        Assert.Equal(WireLimits.HeaderSize + BitConverter.ToInt32(bytes, 0), bytes.Length);
        return new WireFrame(bytes[4], BitConverter.ToUInt64(bytes, 5), bytes[WireLimits.HeaderSize..]);
    }

    /// <summary>
    /// The <c>```hex</c> blocks: the first line is <c># NAME</c>, then hex bytes separated by spaces, each line's
    /// explanation after a <c>|</c>.
    /// </summary>
    private static Dictionary<string, byte[]> ReadExamples(string path)
    {
        var examples = new Dictionary<string, byte[]>();
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() != "```hex")
            {
                continue;
            }

            string name = lines[++i].Trim().TrimStart('#').Trim();
            var bytes = new List<byte>();
            while (lines[++i].Trim() != "```")
            {
                string hex = lines[i].Split('|')[0];
                bytes.AddRange(hex.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(b => byte.Parse(b, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            }

            examples.Add(name, [.. bytes]);
        }

        return examples;
    }
}
