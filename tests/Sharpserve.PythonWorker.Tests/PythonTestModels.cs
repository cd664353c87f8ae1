using Sharpserve.WorkerConformance;

namespace Sharpserve.PythonWorker.Tests;

/// <summary>
/// The Python models the worker is checked with (tests/data/python/conformance): each restates one ONNX test model
/// of tools/make-onnx-test-models.py in numpy, and its expected outputs are that script's committed
/// tests/data/onnx/NAME.expected.json, computed by numpy independently of the worker. Together they send and receive
/// every datatype: the label encoder BYTES in and INT64 out, multi_io FP64, INT32, BOOL, UINT8, FP16 and BYTES in
/// (FP32 among its outputs), identity_types INT8, INT16, UINT16, UINT32, UINT64 and FP16 both ways, expand FP32 and
/// INT64 in.
/// </summary>
internal static class PythonTestModels
{
    /// <summary>The folder the worker gets as --path, holding one module per model.</summary>
    public static string Folder => RepositoryPaths.Data("python", "conformance");

    public static IReadOnlyList<ConformanceModel> All { get; } =
    [
        LabelEncoder(),
        new ConformanceModel("multi_io", "multi_io:MultiIo", [Expected("multi_io")],
        [
            new BadInputCase("'a' as FP32 where the model takes FP64", Replace("multi_io", WireTensor.Fp32("a", [2, 3], 1, 2, 3, 4, 5, 6))),
            new BadInputCase("'b' of rank 2 where the model takes rank 1", Replace("multi_io", WireTensor.Int32("b", [1, 3], 1, 2, 3))),
            new BadInputCase("'a' of shape [3, 2] where the model takes [2, 3]", Replace("multi_io", Fp64("a", [3, 2], 1, 2, 3, 4, 5, 6))),
            new BadInputCase("input 'flag' missing", Without("multi_io", "flag")),
            new BadInputCase("an input the model does not have", new WireRequest([.. Inputs("multi_io"), WireTensor.Fp32("extra", [1], 1)])),
            new BadInputCase("an output the model does not have", new WireRequest(Inputs("multi_io"), RequestedOutputs: ["nothing"])),
        ]),
        new ConformanceModel("identity_types", "identity_types:IdentityTypes", [Expected("identity_types")], []),
        new ConformanceModel("expand", "expand:Expand", [Expected("expand")],
        [
            // Refused by the model itself (it raises sharpserve.BadInput), not by the worker's checks.
            new BadInputCase("a negative size in 'shp'", Replace("expand", Int64("shp", [2], -1, 3))),
        ]),
    ];

    /// <summary>
    /// The label encoder: its expected case, and one case per element of it (the encoder maps each element on its
    /// own, so element i of the expected output is the answer to element i alone). The first model drives the
    /// pipelining tests, which need answers that differ.
    /// </summary>
    private static ConformanceModel LabelEncoder()
    {
        ConformanceCase full = Expected("string_label_encoder");
        WireTensor text = full.Request.Inputs.Single();
        WireTensor id = full.ExpectedOutputs.Single();
        byte[][] elements = text.GetBytesElements();
        var cases = new List<ConformanceCase> { full };
        for (int i = 0; i < elements.Length; i++)
        {
            var request = new WireRequest([WireTensor.Bytes("text", [1], elements[i])]);
            var output = new WireTensor("id", WireDataType.Int64, [1], id.Data.AsSpan(i * sizeof(long), sizeof(long)).ToArray());
            cases.Add(new ConformanceCase($"{full.Name} element {i}", request, [output]));
        }

        return new ConformanceModel("string_label_encoder", "string_label_encoder:StringLabelEncoder", cases,
        [
            new BadInputCase("'text' as INT32", new WireRequest([WireTensor.Int32("text", [1], 1)])),
            new BadInputCase("'text' of rank 2", new WireRequest([WireTensor.Strings("text", [1, 1], "dog")])),
            // Refused by the model itself (it raises sharpserve.BadInput), not by the worker's checks.
            new BadInputCase("an element that is not UTF-8", new WireRequest([WireTensor.Bytes("text", [2], [0x64, 0x6f, 0x67], [0xff, 0xfe])])),
        ]);
    }

    private static ConformanceCase Expected(string onnxModel) =>
        ConformanceCase.FromExpectedJson(RepositoryPaths.Data("onnx", onnxModel + ".expected.json"));

    private static IReadOnlyList<WireTensor> Inputs(string onnxModel) => Expected(onnxModel).Request.Inputs;

    /// <summary>The model's expected-case inputs with one of them replaced by <paramref name="tensor"/> (same name).</summary>
    private static WireRequest Replace(string onnxModel, WireTensor tensor) =>
        new([.. Inputs(onnxModel).Select(t => t.Name == tensor.Name ? tensor : t)]);

    private static WireRequest Without(string onnxModel, string input) => new([.. Inputs(onnxModel).Where(t => t.Name != input)]);

    private static WireTensor Int64(string name, long[] shape, params long[] values)
    {
        var data = new WireWriter();
        foreach (long value in values)
        {
            data.I64(value);
        }

        return new WireTensor(name, WireDataType.Int64, shape, data.ToArray());
    }

    private static WireTensor Fp64(string name, long[] shape, params double[] values)
    {
        var data = new WireWriter();
        foreach (double value in values)
        {
            data.U64((ulong)BitConverter.DoubleToInt64Bits(value));
        }

        return new WireTensor(name, WireDataType.Fp64, shape, data.ToArray());
    }
}
