using Microsoft.Extensions.Logging;
using Sharpserve.Abstractions;
using Sharpserve.Hosting;

namespace Sharpserve.Python;

/// <summary>
/// A Python model as the server serves it: a zygote is started and has loaded the model before this returns, and
/// the model's description (metadata, warm-up requests) is what the zygote reported. Its workers are forked from
/// the zygote (<see cref="ZygoteLauncher"/>); a reload starts a new zygote generation on the current code.
/// </summary>
internal static class PythonModelSource
{
    /// <exception cref="ModelLoadException">The model cannot be loaded; the message says why, in one line.</exception>
    public static async Task<ModelSource> OpenAsync(PythonEntry entry, ILogger logger, string version = "1")
    {
        ArgumentNullException.ThrowIfNull(entry);
        var launcher = new ZygoteLauncher(entry, logger);
        try
        {
            (string token, ZygoteEvent loaded) = await launcher.StartGenerationAsync().ConfigureAwait(false);
            return new ModelSource(ZygoteDescription.From(loaded, entry.Name), token, PrepareAgain)
            {
                Version = version,
                WorkersStartTogether = true, // a fork and a warm-up each: no load competes for the cores
                Launcher = launcher,
                DescribePrepared = next => ZygoteDescription.From(launcher.LoadedOf(next), entry.Name),
                Discard = launcher.Discard,
                Resources = launcher,
            };
        }
        catch
        {
            await launcher.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        // Reload (SIGHUP): a new zygote loads the code as it is now; the server rolls the workers onto it.
        string PrepareAgain() => launcher.StartGenerationAsync().GetAwaiter().GetResult().Token;
    }
}
