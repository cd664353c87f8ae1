using System.Net;
using System.Net.Sockets;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests.Listening;

/// <summary>gunicorn's bind forms, as <c>-b/--bind</c> takes them.</summary>
public sealed class ListenAddressTests
{
    [Theory]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000)]
    [InlineData("0.0.0.0:12711", "0.0.0.0", 12711)]
    [InlineData("[::]:8001", "::", 8001)]
    [InlineData("[::1]:0", "::1", 0)]
    [InlineData("10.1.2.3", "10.1.2.3", 8000)]
    [InlineData("[fe80::1]", "fe80::1", 8000)]
    [InlineData("tcp://127.0.0.1:81", "127.0.0.1", 81)]
    public void TryParse_TcpForms(string text, string address, int port)
    {
        Assert.True(ListenAddress.TryParse(text, out ListenAddress? listen, out string? error), error);

        Assert.Equal(IPAddress.Parse(address), listen!.Address);
        Assert.Equal(port, listen.Port);
        Assert.False(listen.IsUnix);
    }

    [Fact]
    public void TryParse_PortAlone_IsEveryAddress()
    {
        Assert.True(ListenAddress.TryParse(":9000", out ListenAddress? listen, out _));

        Assert.True(listen!.IsWildcard);
        Assert.Equal(Socket.OSSupportsIPv6 ? IPAddress.IPv6Any : IPAddress.Any, listen.Address);
        Assert.Equal(9000, listen.Port);
    }

    [Theory]
    [InlineData("unix:/run/sharpserve.sock", "/run/sharpserve.sock")]
    [InlineData("unix:///tmp/a.sock", "/tmp/a.sock")]
    public void TryParse_UnixSocket(string text, string path)
    {
        Assert.True(ListenAddress.TryParse(text, out ListenAddress? listen, out _));

        Assert.Equal(path, listen!.UnixPath);
        Assert.Equal($"unix:{path}", listen.ToString());
    }

    [Fact]
    public void TryParse_Localhost_IsBothLoopbacks()
    {
        Assert.True(ListenAddress.TryParse("localhost:8080", out ListenAddress? listen, out _));

        Assert.True(listen!.IsLocalhost);
        Assert.Equal(8080, listen.Port);
        Assert.Equal(IPAddress.Loopback, listen.DialAddress);
    }

    [Theory]
    [InlineData("8000", "as its host (for a port on every address write :PORT)")]
    [InlineData("example.com:80", "as its host")]
    [InlineData("127.0.0.1:99999", "has no valid port")]
    [InlineData("127.0.0.1:http", "has no valid port")]
    [InlineData("::1:80", "needs an IPv6 address in brackets")]
    [InlineData("[::1", "needs an IPv6 address in brackets")]
    [InlineData("unix:", "names no socket path")]
    [InlineData("http://127.0.0.1:80", "is not a bind address")]
    [InlineData("fd://3", "is not a bind address")]
    [InlineData("127.1:80", "as its host")]
    public void TryParse_Refuses_WithAReason(string text, string reason)
    {
        Assert.False(ListenAddress.TryParse(text, out _, out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0.0.0.0", "127.0.0.1")]
    [InlineData("::", "::1")]
    [InlineData("192.168.1.5", "192.168.1.5")]
    public void DialAddress_OfAWildcard_IsTheLoopbackOfItsFamily(string bound, string dialed)
    {
        Assert.Equal(IPAddress.Parse(dialed), ListenAddress.Tcp(IPAddress.Parse(bound), 80).DialAddress);
    }

    [Fact]
    public void ToString_IsWhatTheLogSays()
    {
        Assert.Equal("http://0.0.0.0:8000", ListenAddress.Tcp(IPAddress.Any, 8000).ToString());
        Assert.Equal("http://[::]:8000", ListenAddress.Tcp(IPAddress.IPv6Any, 8000).ToString());
        Assert.Equal("http://localhost:8000", ListenAddress.Localhost(8000).ToString());
    }
}
