using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Inference;

namespace Sharpserve.LoadClient;

/// <summary>
/// KServe v2 gRPC <c>ModelInfer</c> with the texts in <c>raw_input_contents</c> (as tritonclient.grpc sends numpy
/// inputs). Each caller has a channel, so each has its own HTTP/2 connection, as each wrk connection is its own.
/// </summary>
internal static class GrpcCases
{
    public static GRPCInferenceService.GRPCInferenceServiceClient[] CreateClients(string address, int conns) =>
        Enumerable.Range(0, conns).Select(_ => new GRPCInferenceService.GRPCInferenceServiceClient(
            GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, UseProxy = false },
                MaxReceiveMessageSize = 64 << 20,
            }))).ToArray();

    public static ModelInferRequest Request(string model, string[] texts)
    {
        var request = new ModelInferRequest { ModelName = model };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "text", Datatype = "BYTES" };
        input.Shape.Add(texts.Length);
        request.Inputs.Add(input);
        request.RawInputContents.Add(ByteString.CopyFrom(Texts.BinaryBytes(texts)));
        return request;
    }

    public static ClosedLoop.Call Infer(GRPCInferenceService.GRPCInferenceServiceClient[] clients, ModelInferRequest request)
    {
        long texts = request.Inputs[0].Shape[0];
        return async (caller, ct) =>
        {
            var response = await clients[caller].ModelInferAsync(request,
                deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct).ConfigureAwait(false);
            return response.Outputs.Count > 0 && response.RawOutputContents.Count == response.Outputs.Count
                && response.Outputs[0].Shape[0] == texts;
        };
    }
}
