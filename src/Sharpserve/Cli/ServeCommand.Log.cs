using Microsoft.Extensions.Logging;

namespace Sharpserve.Cli;

internal sealed partial class ServeCommand
{
    private static partial class Log
    {
        // A progress line or the final line of preparing a model (PreparationProgress), written as it is.
        [LoggerMessage(3020, LogLevel.Information, "{Preparation}")]
        public static partial void Preparation(ILogger logger, string preparation);
    }
}
