using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Sharpserve.FunctionalTests.Http;

/// <summary>Bytes on a socket, for requests no HTTP client would send (malformed, oversized, hand-chunked).</summary>
internal static class RawHttp
{
    /// <summary>Sends <paramref name="request"/> and reads until the server closes the connection or the answer is complete.</summary>
    public static async Task<RawResponse> SendAsync(Uri server, byte[] request)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, server.Port));
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.SendAsync(request, SocketFlags.None, cancel.Token);
        }
        catch (SocketException)
        {
            // The server may answer and close before the whole request is sent (413, 431): read what it said.
        }

        var received = new MemoryStream();
        byte[] buffer = new byte[65536];
        while (true)
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel.Token);
            }
            catch (SocketException)
            {
                break; // reset after the answer
            }

            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
            if (RawResponse.TryParse(received.ToArray(), out _))
            {
                break;
            }
        }

        Assert.True(RawResponse.TryParse(received.ToArray(), out RawResponse? response), $"no complete answer: {Encoding.ASCII.GetString(received.ToArray())}");
        return response!;
    }

    /// <summary>A POST of <paramref name="body"/> in chunks of <paramref name="chunkSize"/> bytes.</summary>
    public static byte[] Chunked(string path, byte[] body, int chunkSize)
    {
        var request = new MemoryStream();
        request.Write(Encoding.ASCII.GetBytes($"POST {path} HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"));
        for (int offset = 0; offset < body.Length; offset += chunkSize)
        {
            int length = Math.Min(chunkSize, body.Length - offset);
            request.Write(Encoding.ASCII.GetBytes($"{length:x}\r\n"));
            request.Write(body, offset, length);
            request.Write("\r\n"u8);
        }

        request.Write("0\r\n\r\n"u8);
        return request.ToArray();
    }
}

/// <summary>One HTTP/1.1 answer: status, headers, body (Content-Length framed).</summary>
internal sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public static bool TryParse(byte[] bytes, out RawResponse? response)
    {
        response = null;
        string text = Encoding.UTF8.GetString(bytes);
        int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        string[] lines = text[..end].Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        string body = text[(end + 4)..];
        if (headers.TryGetValue("Content-Length", out string? length) && Encoding.UTF8.GetByteCount(body) < int.Parse(length, System.Globalization.CultureInfo.InvariantCulture))
        {
            return false;
        }

        response = new RawResponse(int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), headers, body);
        return true;
    }
}
