using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Core.Models;
using Sharpserve.Core.Scheduling;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Models;

public sealed class ServedModelTests
{
    private static InferenceRequest Request(string text) =>
        new([Tensor.FromBytes("text", [1], [Encoding.UTF8.GetBytes(text)])], InferenceParameters.Default);

    [Fact]
    public async Task Infer_BeforeMarkedReady_AnswersModelNotReadyWithoutRunning()
    {
        var model = new FakeModel();
        await using var served = new ServedModel(model, new SchedulerOptions(), threads: 1);
        served.Start();
        await served.Executor.WarmedUp;

        InferResult result = await served.InferAsync(Request("x"));

        Assert.Equal(InferErrorKind.ModelNotReady, result.Error!.Kind);
        Assert.Equal(0, model.StartedCount);
    }

    [Fact]
    public async Task Infer_AfterReady_Runs_AndDisposeStopsAndDisposesModel()
    {
        var model = new FakeModel();
        var served = new ServedModel(model, new SchedulerOptions(), threads: 2);
        served.Start();
        await served.Executor.WarmedUp;
        served.MarkReady();

        InferResult result = await served.InferAsync(Request("x"));
        await served.DisposeAsync();

        Assert.True(result.IsSuccess);
        Assert.False(served.IsReady);
        Assert.True(model.IsDisposed);
    }

    [Fact]
    public async Task Infer_AfterMarkNotReady_IsNotReadyButStillRunsTheRequestsTheFrontAdmits()
    {
        var model = new FakeModel();
        await using var served = new ServedModel(model, new SchedulerOptions(), threads: 1);
        served.Start();
        await served.Executor.WarmedUp;
        served.MarkReady();

        // Shutdown: a request whose body was still uploading at the signal reaches the model afterwards.
        served.MarkNotReady();
        InferResult result = await served.InferAsync(Request("x"));

        Assert.False(served.IsReady);
        Assert.True(result.IsSuccess, result.Error?.Message);
    }
}
