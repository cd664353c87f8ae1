using System.Diagnostics;

namespace Sharpserve.Supervision;

/// <summary>Starts workers as child processes: another copy of this executable, <c>sharpserve worker ...</c>.</summary>
/// <param name="command">The executable and the arguments before <c>worker</c>.</param>
/// <param name="environment">Variables set in the children on top of the front's own (none by default).</param>
public sealed class WorkerLauncher(IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null) : IWorkerLauncher
{
    /// <summary>This executable (<see cref="DefaultCommand"/>).</summary>
    public WorkerLauncher()
        : this(DefaultCommand())
    {
    }

    public IWorkerHandle Launch(WorkerLaunch launch, Action<string> output)
    {
        ArgumentNullException.ThrowIfNull(launch);
        var arguments = new List<string>
        {
            "worker", "--socket", launch.SocketPath, "--model", launch.ModelPath, "--name", launch.ModelName,
            "--id", launch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--threads", launch.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach ((string name, string value) in launch.Settings)
        {
            arguments.Add("--setting");
            arguments.Add($"{name}={value}");
        }

        return new SpawnedWorker(Start(command, arguments, environment), output);
    }

    /// <summary>
    /// The published apphost next to sharpserve.dll when there is one; otherwise <c>dotnet sharpserve.dll</c>
    /// (e.g. under <c>dotnet run</c> or a test host); a single-file publish runs its own path.
    /// </summary>
    public static IReadOnlyList<string> DefaultCommand()
    {
        // The running program re-executes itself: sharpserve, or a program built on it (one that references this
        // assembly, e.g. the tests' fault-injecting host); any other host (a test runner) starts sharpserve itself.
        System.Reflection.Assembly self = typeof(WorkerLauncher).Assembly;
        System.Reflection.Assembly? entry = System.Reflection.Assembly.GetEntryAssembly();
        bool entryIsBuiltOnSharpserve = entry is not null &&
            Array.Exists(entry.GetReferencedAssemblies(), a => a.Name == self.GetName().Name);
        string assembly = (entryIsBuiltOnSharpserve ? entry! : self).Location;
        if (string.IsNullOrEmpty(assembly))
        {
            return [Environment.ProcessPath!];
        }

        string appHost = Path.ChangeExtension(assembly, null); // sharpserve.dll → sharpserve
        if (File.Exists(appHost) && !OperatingSystem.IsWindows())
        {
            return [appHost];
        }

        string dotnet = Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet";
        return [dotnet, assembly];
    }

    private static Process Start(IReadOnlyList<string> command, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment)
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

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException($"could not start {command[0]}");
    }
}
