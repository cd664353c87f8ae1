using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Inference;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Grpc;

/// <summary>
/// The server's own gRPC calls before ready: <c>ModelInfer</c> with a model's warm-up request in
/// <c>raw_input_contents</c> (as tritonclient.grpc sends numpy arrays), over HTTP/2 to the gRPC port, with the warm-up
/// token in the <c>x-sharpserve-warmup</c> metadata. Without them the gRPC path (HTTP/2 framing, protobuf, the raw
/// contents reader and writer) ran its first seconds of real traffic at the JIT's first tier: measured at ten times
/// the CPU of a warm call (docs/architecture.md, "Warm before ready").
/// </summary>
internal sealed class GrpcWarmupClient : IDisposable
{
    private const string InferPath = "inference.GRPCInferenceService/ModelInfer";
    private readonly HttpClient _client;
    private readonly string _token;

    public GrpcWarmupClient(ListenAddress listener, string token)
    {
        _client = SelfClient.Create(listener, TimeSpan.FromSeconds(60));
        _token = token;
    }

    /// <summary>A ModelInfer request for <paramref name="request"/> as a gRPC message: flag 0, big-endian length, protobuf.</summary>
    public static byte[] Message(string model, string version, InferenceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var message = new ModelInferRequest { ModelName = model, ModelVersion = version };
        message.Parameters.Add("k", new InferParameter { Int64Param = request.Parameters.TopK });
        message.Parameters.Add("threshold", new InferParameter { DoubleParam = request.Parameters.Threshold });
        foreach (Tensor input in request.Inputs)
        {
            var tensor = new ModelInferRequest.Types.InferInputTensor { Name = input.Name, Datatype = input.DataType.ToProtocolName() };
            tensor.Shape.Add(input.Shape);
            message.Inputs.Add(tensor);
            message.RawInputContents.Add(ByteString.CopyFrom(WarmupBinaryRequest.Blob(input)));
        }

        byte[] payload = message.ToByteArray();
        var framed = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    /// <summary>Sends one call and returns its gRPC status code and message (0: OK).</summary>
    public async Task<(int Status, string Message)> InferAsync(byte[] message)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(InferPath, UriKind.Relative))
        {
            Content = new ByteArrayContent(message),
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact, // the gRPC port speaks HTTP/2 only (h2c, prior knowledge)
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("TE", "trailers");
        request.Headers.TryAddWithoutValidation(GrpcInferenceService.GrpcWarmupHeader, _token);
        using HttpResponseMessage response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (-1, $"HTTP {(int)response.StatusCode}");
        }

        // The status is a trailer, or a header in a trailers-only answer (an error before any message).
        string? status = Value(response.TrailingHeaders, "grpc-status") ?? Value(response.Headers, "grpc-status");
        string text = Uri.UnescapeDataString(Value(response.TrailingHeaders, "grpc-message") ?? Value(response.Headers, "grpc-message") ?? "");
        return int.TryParse(status, System.Globalization.CultureInfo.InvariantCulture, out int code) ? (code, text) : (-1, "no grpc-status");
    }

    public void Dispose() => _client.Dispose();

    private static string? Value(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out IEnumerable<string>? values) ? values.FirstOrDefault() : null;
}
