using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Sharpserve.Hosting;

/// <summary>
/// Puts the server's <see cref="ListenAddress"/>es on Kestrel, checks before that each can be bound (so a port in
/// use or an address that is not this machine's is one clear line, not a host start-up failure), and reads back
/// what was bound (real ports for port 0).
/// </summary>
internal sealed class Listeners
{
    private readonly List<(ListenAddress Address, ListenOptions? Options)> _bound = [];

    /// <summary>What an operator changes to move a listener, named in a listen failure.</summary>
    public const string HttpSettings = "--port or --bind";

    private readonly string _settings;

    private Listeners(IReadOnlyList<ListenAddress> requested, string settings)
    {
        Requested = requested;
        _settings = settings;
    }

    public IReadOnlyList<ListenAddress> Requested { get; }

    /// <summary>What the server listens on, with the real ports once Kestrel has started.</summary>
    public IReadOnlyList<ListenAddress> Bound
    {
        get
        {
            var bound = new ListenAddress[_bound.Count];
            for (int i = 0; i < bound.Length; i++)
            {
                (ListenAddress address, ListenOptions? options) = _bound[i];
                bound[i] = options?.EndPoint is not IPEndPoint endPoint ? address
                    : address.IsLocalhost && address.Port == 0 ? ListenAddress.Tcp(IPAddress.Loopback, endPoint.Port) // bound on 127.0.0.1 only
                    : address.WithPort(endPoint.Port);
            }

            return bound;
        }
    }

    /// <summary>
    /// Checks that every address can be bound (unix: a stale socket file is removed) and returns the set to give to
    /// Kestrel.
    /// </summary>
    /// <exception cref="ListenException">One of them cannot be bound; the message names it and says why.</exception>
    /// <param name="settings">The settings that moved these addresses, for the message (<see cref="HttpSettings"/>, --grpc-port).</param>
    public static Listeners Check(IReadOnlyList<ListenAddress> addresses, string settings = HttpSettings)
    {
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0)
        {
            throw new ListenException("no address to listen on");
        }

        for (int i = 0; i < addresses.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (addresses[i] == addresses[j] && (addresses[i].IsUnix || addresses[i].Port != 0))
                {
                    throw new ListenException($"{addresses[i]} is given twice");
                }
            }
        }

        foreach (ListenAddress address in addresses)
        {
            if (address.UnixPath is { } path)
            {
                UnixSocketFile.PrepareForBind(path);
            }
            else if (address.IsLocalhost)
            {
                Probe(address, new IPEndPoint(IPAddress.Loopback, address.Port), settings);
            }
            else
            {
                Probe(address, new IPEndPoint(address.Address!, address.Port), settings);
            }
        }

        return new Listeners(addresses, settings);
    }

    /// <summary>Adds every address to Kestrel, each with <paramref name="configure"/> (protocols, connection middleware).</summary>
    public void Configure(KestrelServerOptions kestrel, Action<ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(configure);
        _bound.Clear();
        foreach (ListenAddress address in Requested)
        {
            ListenOptions? captured = null;
            void Capture(ListenOptions options)
            {
                captured = options;
                configure(options);
            }

            if (address.UnixPath is { } path)
            {
                kestrel.ListenUnixSocket(path, Capture);
            }
            else if (address.IsLocalhost && address.Port != 0)
            {
                kestrel.ListenLocalhost(address.Port, Capture);
            }
            else if (address.IsLocalhost)
            {
                kestrel.Listen(IPAddress.Loopback, 0, Capture); // Kestrel picks no free port for both loopbacks at once
            }
            else
            {
                kestrel.Listen(address.Address!, address.Port, Capture);
            }

            _bound.Add((address, captured));
        }
    }

    /// <summary>Why a listener could not be bound at start, when another process took its address after <see cref="Check"/>.</summary>
    public string Explain(SocketError error, string fallback) => Explain(Requested[0], error, fallback, _settings);

    /// <summary>After Kestrel has bound them: Unix sockets get mode 0660.</summary>
    public void SecureUnixSockets()
    {
        foreach (ListenAddress address in Requested)
        {
            if (address.UnixPath is { } path)
            {
                UnixSocketFile.Secure(path);
            }
        }
    }

    /// <summary>At exit: the Unix socket files go.</summary>
    public void RemoveUnixSockets()
    {
        foreach (ListenAddress address in Requested)
        {
            if (address.UnixPath is { } path)
            {
                UnixSocketFile.Remove(path);
            }
        }
    }

    /// <summary>Binds and closes a socket as Kestrel will (dual-stack for ::, SO_REUSEADDR), translating the failure.</summary>
    private static void Probe(ListenAddress address, IPEndPoint endPoint, string settings)
    {
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }

            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endPoint);
        }
        catch (SocketException ex)
        {
            throw new ListenException(Explain(address, ex.SocketErrorCode, ex.Message, settings), ex);
        }
    }

    /// <summary>One line that names the address and says what to do.</summary>
    public static string Explain(ListenAddress address, SocketError error, string fallback, string settings = HttpSettings) => error switch
    {
        SocketError.AddressAlreadyInUse =>
            $"cannot listen on {address}: the port is already in use (another server runs there; pick another with {settings})",
        SocketError.AddressNotAvailable =>
            $"cannot listen on {address}: {address.Address} is not an address of this machine (use 127.0.0.1, 0.0.0.0, :: or one of its interface addresses)",
        SocketError.AccessDenied =>
            $"cannot listen on {address}: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)",
        SocketError.AddressFamilyNotSupported or SocketError.ProtocolNotSupported =>
            $"cannot listen on {address}: this machine has no IPv6 (use 0.0.0.0 or 127.0.0.1)",
        _ => $"cannot listen on {address}: {fallback}",
    };
}
