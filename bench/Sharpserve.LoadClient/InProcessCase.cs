using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Backends.FastText;

namespace Sharpserve.LoadClient;

/// <summary>
/// The in-process rate: the same request (a BYTES tensor of the texts) given to the fastText backend's session
/// directly, as an executor thread gives it, from the model image the server maps. One session per caller, as
/// the server has one per executor thread. No HTTP, no parsing, no queue.
/// </summary>
internal sealed class InProcessCase : IDisposable
{
    private readonly FastTextModel _model;
    private readonly IModelSession[] _sessions;
    private readonly InferenceRequest _request;

    public InProcessCase(string image, string[] texts, int callers)
    {
        _model = FastTextModel.OpenImage(ModelImage.Open(image), "langid");
        _sessions = Enumerable.Range(0, callers).Select(_ => _model.CreateSession()).ToArray();
        byte[][] elements = texts.Select(Encoding.UTF8.GetBytes).ToArray();
        _request = new InferenceRequest([Tensor.FromBytes("text", [texts.Length], elements)], InferenceParameters.Default);
    }

    public ClosedLoop.Call Call => (caller, _) => Task.FromResult(_sessions[caller].Infer(_request).IsSuccess);

    public void Dispose()
    {
        foreach (var session in _sessions)
        {
            session.Dispose();
        }

        _model.Dispose();
    }
}
