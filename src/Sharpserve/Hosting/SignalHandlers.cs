using System.Runtime.InteropServices;

namespace Sharpserve.Hosting;

/// <summary>
/// gunicorn's operational signals: SIGHUP reloads the model, SIGTTIN adds a worker, SIGTTOU removes one.
/// SIGUSR1 reopens the access log. SIGTERM and SIGINT are the host's (graceful shutdown).
/// </summary>
internal sealed class SignalHandlers : IDisposable
{
    /// <summary>SIGUSR1 (10 on Linux): reopen the access log, as gunicorn does, for log rotation.</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    private readonly PosixSignalRegistration[] _registrations;

    private SignalHandlers(PosixSignalRegistration[] registrations) => _registrations = registrations;

    public static SignalHandlers Register(SharpserveServer server)
    {
        if (OperatingSystem.IsWindows())
        {
            return new SignalHandlers([]);
        }

        return new SignalHandlers(
        [
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                server.Reload();
            }),
            PosixSignalRegistration.Create(PosixSignal.SIGTTIN, context =>
            {
                context.Cancel = true;
                server.Scale(+1);
            }),
            PosixSignalRegistration.Create(PosixSignal.SIGTTOU, context =>
            {
                context.Cancel = true;
                server.Scale(-1);
            }),
            PosixSignalRegistration.Create(SigUsr1, context =>
            {
                context.Cancel = true;
                server.ReopenLogs();
            }),
        ]);
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }
    }
}
