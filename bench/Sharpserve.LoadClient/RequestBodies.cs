using System.Buffers.Binary;
using Google.Protobuf;

namespace Sharpserve.LoadClient;

/// <summary>
/// The request bodies of the http-binary and grpc cases as files, byte for byte what this client sends, so that a
/// load generator written in C (wrk for HTTP/1.1, h2load for gRPC over HTTP/2) can replay them: on two cores the
/// client's own CPU per request is taken from the server, and a .NET client that parses every answer costs several
/// times what wrk or h2load do (docs/benchmarks.md, Protocols).
/// </summary>
internal static class RequestBodies
{
    public static int Write(string kind, string path, string model, string[] texts)
    {
        if (path.Length == 0)
        {
            Console.Error.WriteLine("body: --out FILE is required");
            return 2;
        }

        switch (kind)
        {
            case "http-binary":
            {
                (byte[] header, byte[] data) = HttpCases.BinaryBody(texts);
                File.WriteAllBytes(path, [.. header, .. data]);
                Console.WriteLine(header.Length); // the Inference-Header-Content-Length value
                return 0;
            }

            case "grpc":
            {
                // A gRPC message on the wire: a 1-byte compressed flag (0), a 4-byte big-endian length, the protobuf.
                byte[] message = GrpcCases.Request(model, texts).ToByteArray();
                var framed = new byte[5 + message.Length];
                BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)message.Length);
                message.CopyTo(framed, 5);
                File.WriteAllBytes(path, framed);
                return 0;
            }

            default:
                Console.Error.WriteLine($"body: --case must be http-binary or grpc, not '{kind}'");
                return 2;
        }
    }
}
