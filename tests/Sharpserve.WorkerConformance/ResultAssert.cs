namespace Sharpserve.WorkerConformance;

/// <summary>Checks a worker's answer against a <see cref="ConformanceCase"/>.</summary>
public static class ResultAssert
{
    /// <summary>
    /// The frame is a Result (strictly well-formed) whose outputs match the case: every output once; with every
    /// output asked for, exactly the expected ones; with some asked for, at least those (the front drops the rest).
    /// </summary>
    public static void Matches(ConformanceCase expected, WireFrame frame)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Is(WireFrameType.Error))
        {
            (WireErrorKind kind, string message) = WireReader.ReadError(frame);
            Assert.Fail($"case {expected.Name}: the worker answered Error {kind} \"{message}\" instead of a Result");
        }

        IReadOnlyList<WireTensor> outputs = WireReader.ReadResult(frame);
        var byName = new Dictionary<string, WireTensor>();
        foreach (WireTensor output in outputs)
        {
            Assert.True(byName.TryAdd(output.Name, output), $"case {expected.Name}: output '{output.Name}' appears twice in one Result");
        }

        if (expected.Request.RequestedOutputs is null)
        {
            Assert.True(
                byName.Keys.Order(StringComparer.Ordinal).SequenceEqual(expected.ExpectedOutputs.Select(o => o.Name).Order(StringComparer.Ordinal)),
                $"case {expected.Name}: every output was asked for; got [{string.Join(", ", byName.Keys)}], expected [{string.Join(", ", expected.ExpectedOutputs.Select(o => o.Name))}]");
        }

        foreach (WireTensor want in expected.ExpectedOutputs)
        {
            Assert.True(byName.TryGetValue(want.Name, out WireTensor? got), $"case {expected.Name}: output '{want.Name}' is missing from the Result");
            SameTensor(want, got, expected.Tolerance, expected.Name);
        }
    }

    /// <summary>Same name, datatype, shape; floats within the tolerance, other types element for element.</summary>
    public static void SameTensor(WireTensor expected, WireTensor actual, double tolerance, string context)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        string where = $"case {context}, output {expected}";
        Assert.True(expected.DataType == actual.DataType, $"{where}: got datatype {WireLimits.ProtocolName(actual.DataType)}");
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{where}: got shape [{string.Join(",", actual.Shape)}]");
        switch (expected.DataType)
        {
            case WireDataType.Fp16:
            case WireDataType.Fp32:
            case WireDataType.Fp64:
                for (long i = 0; i < expected.ElementCount; i++)
                {
                    double want = expected.GetFloat(i);
                    double got = actual.GetFloat(i);
                    Assert.True(
                        Math.Abs(want - got) <= tolerance * Math.Max(1, Math.Abs(want)) || (double.IsNaN(want) && double.IsNaN(got)),
                        $"{where}: element {i} is {got}, expected {want}");
                }

                break;
            case WireDataType.Bytes:
                byte[][] wantElements = expected.GetBytesElements();
                byte[][] gotElements = actual.GetBytesElements();
                for (int i = 0; i < wantElements.Length; i++)
                {
                    Assert.True(
                        wantElements[i].AsSpan().SequenceEqual(gotElements[i]),
                        $"{where}: element {i} is \"{System.Text.Encoding.UTF8.GetString(gotElements[i])}\", expected \"{System.Text.Encoding.UTF8.GetString(wantElements[i])}\"");
                }

                break;
            default:
                Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{where}: the elements differ (expected {Convert.ToHexString(expected.Data)}, got {Convert.ToHexString(actual.Data)})");
                break;
        }
    }
}
