using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
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

    [Fact]
    public async Task ThreadMode_IsDescribedByItsModel()
    {
        var model = new FakeModel("opened");
        await using var served = new ServedModel(model, new SchedulerOptions(), threads: 1);

        Assert.Equal("opened", served.Name);
        Assert.Same(model.Metadata, served.Description.Metadata);
        Assert.Same(model.WarmupRequests, served.Description.WarmupRequests);
    }

    [Fact]
    public async Task DescribedModel_IsNamedByItsDescription_RunsOnItsExecutor_AndDisposesNoModel()
    {
        // As in process mode: the front holds a description; the model runs elsewhere (here: an executor's own copy).
        ModelDescription description = ((IModel)new FakeModel("described")).Description;
        var elsewhere = new FakeModel("described");
        var served = new ServedModel(description, new SchedulerOptions(), scheduler => new InProcessExecutor(elsewhere, scheduler, threadCount: 1));
        served.Start();
        await served.Executor.WarmedUp;
        served.MarkReady();

        InferResult result = await served.InferAsync(Request("x"));
        await served.DisposeAsync();

        Assert.Equal("described", served.Name);
        Assert.Same(description, served.Description);
        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(1, elsewhere.CompletedCount);
        Assert.False(elsewhere.IsDisposed); // whoever runs the model owns it
    }
}
