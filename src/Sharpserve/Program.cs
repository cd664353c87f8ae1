using Sharpserve.Cli;

return await CommandLine.RunAsync(args);
