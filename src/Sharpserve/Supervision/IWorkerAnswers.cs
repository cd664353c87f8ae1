using Sharpserve.Ipc;

namespace Sharpserve.Supervision;

/// <summary>What a worker's connection tells the executor: answers to the requests it sent.</summary>
internal interface IWorkerAnswers
{
    /// <summary>A Result or Error frame from <paramref name="worker"/>; throws <see cref="IpcProtocolException"/> when its payload is malformed.</summary>
    void OnAnswer(Worker worker, in Frame frame);

    /// <summary>An Infer frame was too large to send; the request must be answered here.</summary>
    void OnRefused(Worker worker, in OutgoingFrame frame, IpcProtocolException reason);
}
