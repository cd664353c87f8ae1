using System.Diagnostics;

namespace Sharpserve.Supervision;

/// <summary>How to start another copy of this executable as a worker.</summary>
public static class WorkerLauncher
{
    /// <summary>
    /// The published apphost next to sharpserve.dll when there is one; otherwise <c>dotnet sharpserve.dll</c>
    /// (e.g. under <c>dotnet run</c> or a test host); a single-file publish runs its own path.
    /// </summary>
    public static IReadOnlyList<string> DefaultCommand()
    {
        string assembly = typeof(WorkerLauncher).Assembly.Location;
        if (string.IsNullOrEmpty(assembly))
        {
            return [Environment.ProcessPath!];
        }

        string appHost = Path.Combine(Path.GetDirectoryName(assembly)!, "sharpserve");
        if (File.Exists(appHost) && !OperatingSystem.IsWindows())
        {
            return [appHost];
        }

        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        return [dotnet, assembly];
    }

    public static Process Start(IReadOnlyList<string> command, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(command[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        for (int i = 1; i < command.Count; i++)
        {
            info.ArgumentList.Add(command[i]);
        }

        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (KeyValuePair<string, string> variable in environment)
        {
            info.Environment[variable.Key] = variable.Value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {command[0]}");
    }
}
