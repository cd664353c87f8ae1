using Sharpserve.FaultHost;

// sharpserve itself, but every worker serves its model through FaultModel.
Sharpserve.Worker.WorkerCommand.ModelDecorator = static model => new FaultModel(model);
return await Sharpserve.Cli.CommandLine.RunAsync(args);
