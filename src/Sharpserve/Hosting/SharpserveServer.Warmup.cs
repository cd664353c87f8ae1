using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sharpserve.Abstractions;
using Sharpserve.Core.Execution;
using Sharpserve.Core.Models;
using Sharpserve.Grpc;
using Sharpserve.Http;

namespace Sharpserve.Hosting;

public sealed partial class SharpserveServer
{
    /// <summary>gRPC calls of the warm-up so far (the ready line reports them apart from HTTP's).</summary>
    private int _grpcWarmupCalls;

    /// <summary>Models whose widened warm-up request was refused once: not sent again (<see cref="WarmUpWideAsync"/>).</summary>
    private readonly HashSet<ServedModel> _wideWarmupOff = [];

    /// <summary>
    /// Warm-up in two stages: every executor thread runs the model's warm-up requests, then the server sends
    /// its own requests through Kestrel to every endpoint, HTTP and gRPC, one-row and many-row, so parsing, JSON,
    /// scheduling and response writing are compiled before the first client arrives. Only then does readiness turn true.
    /// </summary>
    private async Task WarmUpAsync()
    {
        foreach (ServedModel model in _registry.All)
        {
            await model.Executor.WarmedUp;
        }

        int sent = 0;
        var refused = new HashSet<ServedModel>();
        using (HttpClient client = SelfClient.Create(ListenAddresses[0], TimeSpan.FromSeconds(60)))
        using (GrpcWarmupClient? grpc = CreateGrpcWarmupClient())
        {
            client.DefaultRequestHeaders.Add(WarmupGate.HeaderName, _warmupGate.Token);
            // Up to HttpWarmupRounds rounds, fewer for a slow model (WarmupBudget).
            var rounds = new WarmupBudget(_options.HttpWarmupRounds);
            while (rounds.Next())
            {
                sent += await WarmUpRoundAsync(client, grpc, refused);
            }

        }

        foreach (ServedModel model in _registry.All)
        {
            model.MarkReady();
            if (model.Executor is IStagedStart staged)
            {
                staged.StartRemaining(); // held back so their loads did not compete with the warm-up for the cores
            }
        }

        Log.Ready(_logger, sent - _grpcWarmupCalls,
            _grpcListeners is null ? "" : string.Create(CultureInfo.InvariantCulture, $", {_grpcWarmupCalls} through gRPC"));
    }

    private GrpcWarmupClient? CreateGrpcWarmupClient() =>
        _grpcListeners is { Bound: [var grpc, ..] } ? new GrpcWarmupClient(grpc, _warmupGate.Token) : null;

    private async Task<int> WarmUpRoundAsync(HttpClient client, GrpcWarmupClient? grpc, HashSet<ServedModel> refused)
    {
        int sent = 0;
        await ExpectSuccessAsync(client.GetAsync(new Uri("v2/health/live", UriKind.Relative)), acceptUnavailable: false);
        await ExpectSuccessAsync(client.GetAsync(new Uri("v2/health/ready", UriKind.Relative)), acceptUnavailable: true);
        sent += 2;
        sent += await WarmUpModelsRoundAsync(client, grpc, _registry.All, refused);
        if (!_registry.TryGetDefault(out ServedModel defaultModel))
        {
            return sent;
        }

        if (Python.ZygoteDescription.IsDefaultContract(defaultModel.Description.Metadata) &&
            FirstText(defaultModel.Description.WarmupRequests) is { } pythonText)
        {
            // A Python model's /labelservice/: what the model says of its own warm-up input is its answer, 4xx included.
            using (var plain = new ByteArrayContent(pythonText))
            {
                await ExpectModelAnswerAsync(client.PostAsync(new Uri("labelservice/", UriKind.Relative), plain), defaultModel, refused);
            }

            sent++;
        }
        else if (LabelServiceEndpoint.IsTextClassifier(defaultModel.Description.Metadata) &&
            FirstText(defaultModel.Description.WarmupRequests) is { } text)
        {
            using (var plain = new ByteArrayContent(text))
            {
                await ExpectSuccessAsync(client.PostAsync(new Uri("labelservice/", UriKind.Relative), plain), acceptUnavailable: false);
            }

            using (var json = new ByteArrayContent(text))
            {
                await ExpectSuccessAsync(client.PostAsync(new Uri("labelservice/?k=2", UriKind.Relative), json), acceptUnavailable: false);
            }

            string query = Uri.EscapeDataString(Encoding.UTF8.GetString(text));
            await ExpectSuccessAsync(client.GetAsync(new Uri($"labelservice/?text={query}", UriKind.Relative)), acceptUnavailable: false);
            sent += 3;
        }

        return sent;
    }

    /// <summary>One round over <paramref name="models"/>: metadata and infer with each warm-up request at every versioned URL, and the unversioned metadata.</summary>
    private async Task<int> WarmUpModelsRoundAsync(HttpClient client, GrpcWarmupClient? grpc, IReadOnlyList<ServedModel> models, HashSet<ServedModel> refused)
    {
        int sent = 0;
        // Every served (name, version) by its versioned URL: each version has its own executors and request path.
        foreach (ServedModel model in models)
        {
            string path = $"v2/models/{Uri.EscapeDataString(model.Name)}/versions/{Uri.EscapeDataString(model.Version)}";
            await ExpectSuccessAsync(client.GetAsync(new Uri(path, UriKind.Relative)), acceptUnavailable: false);
            sent++;
            foreach (InferenceRequest request in model.Description.WarmupRequests)
            {
                using var content = new ByteArrayContent(OipRequestJson(request));
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                Task<HttpResponseMessage> infer = client.PostAsync(new Uri(path + "/infer", UriKind.Relative), content);
                if (model.Executor.Mode == "process")
                {
                    await ExpectModelAnswerAsync(infer, model, refused);
                }
                else
                {
                    // Thread mode: the executors ran these very requests before, so any failure here is the server's.
                    await ExpectSuccessAsync(infer, acceptUnavailable: false);
                }

                sent++;
            }

            // The binary tensor data extension's path too (tritonclient's default) and gRPC, once per model with its first
            // request, and with that request widened to many rows (OIP JSON too), as clients send batches.
            if (model.Description.WarmupRequests is [var first, ..])
            {
                long started = Stopwatch.GetTimestamp();
                sent += await WarmUpBinaryAndGrpcAsync(client, grpc, model, path, first, refused);
                TimeSpan took = Stopwatch.GetElapsedTime(started);
                // Many rows only for a model fast at one (a slow one would spend the warm-up, or the request timeout,
                // on them), sized to the body limit.
                if (took < WarmupBudget.SlowRound && !_wideWarmupOff.Contains(model) &&
                    WarmupWideRequest.Create(first, model.Description.Metadata, _options.MaxRequestBodyBytes / 4) is { } wide)
                {
                    sent += await WarmUpWideAsync(client, grpc, model, path, wide);
                }
            }
        }

        // The unversioned metadata route too, once per name: the highest version answers it.
        foreach (ServedModel model in models)
        {
            if (_registry.TryGet(model.Name, out ServedModel highest) && highest == model)
            {
                await ExpectSuccessAsync(client.GetAsync(new Uri($"v2/models/{Uri.EscapeDataString(model.Name)}", UriKind.Relative)), acceptUnavailable: false);
                sent++;
            }
        }

        return sent;
    }

    private static async Task ExpectSuccessAsync(Task<HttpResponseMessage> call, bool acceptUnavailable)
    {
        using HttpResponseMessage response = await call;
        string body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode && !(acceptUnavailable && (int)response.StatusCode == 503))
        {
            throw new InvalidOperationException(
                $"warm-up request {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {Answer(response, body)}");
        }
    }

    /// <summary>
    /// The status and, when the body is one of our JSON errors, its message: a limit set too low for the warm-up's own
    /// requests (--max-body-size, --request-timeout) then names itself.
    /// </summary>
    private static string Answer(HttpResponseMessage response, string body)
    {
        int status = (int)response.StatusCode;
        try
        {
            using JsonDocument document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("error", out JsonElement error)
                && error.ValueKind == JsonValueKind.String)
            {
                return $"{status}: {error.GetString()}";
            }
        }
        catch (JsonException)
        {
        }

        return status.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A process-mode front has no model to try its warm-up requests on: a backend that synthesises them (ONNX) may
    /// send one the model refuses, while each worker warmed up with an input it checked. The model's refusal (a 400,
    /// or a 500 for ONNX Runtime's other failures) still ran the whole HTTP and IPC path, so it is logged once and warm-up goes on.
    /// </summary>
    private async Task ExpectModelAnswerAsync(Task<HttpResponseMessage> call, ServedModel model, HashSet<ServedModel> refused)
    {
        using HttpResponseMessage response = await call;
        string body = await response.Content.ReadAsStringAsync();
        int status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        if (status is not (StatusCodes.Status400BadRequest or StatusCodes.Status500InternalServerError))
        {
            throw new InvalidOperationException($"warm-up request POST {response.RequestMessage?.RequestUri} answered {Answer(response, body)}");
        }

        if (refused.Add(model))
        {
            Log.WarmupRequestRefused(_logger, model.Name, model.Version, status, body);
        }
    }

    /// <summary>
    /// The widened request over OIP JSON, binary and gRPC. It is an extra: the paths it walks were all walked by the
    /// request it widens, so a refusal (a limit, the request timeout, the model) only stops wide requests for this
    /// model, logged once, and warm-up goes on.
    /// </summary>
    private async Task<int> WarmUpWideAsync(HttpClient client, GrpcWarmupClient? grpc, ServedModel model, string path, InferenceRequest wide)
    {
        var uri = new Uri(path + "/infer", UriKind.Relative);
        using var json = new ByteArrayContent(OipRequestJson(wide));
        json.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        (byte[] body, int headerLength) = WarmupBinaryRequest.Create(wide);
        using var binary = new ByteArrayContent(body);
        binary.Headers.Add("Inference-Header-Content-Length", headerLength.ToString(CultureInfo.InvariantCulture));
        int sent = 0;
        foreach (ByteArrayContent content in new[] { json, binary })
        {
            using HttpResponseMessage response = await client.PostAsync(uri, content);
            sent++;
            if (!response.IsSuccessStatusCode)
            {
                StopWide(model, $"HTTP {(int)response.StatusCode}: {Answer(response, await response.Content.ReadAsStringAsync())}");
                return sent;
            }
        }

        if (grpc is not null)
        {
            (int status, string message) = await grpc.InferAsync(GrpcWarmupClient.Message(model.Name, model.Version, wide));
            sent++;
            _grpcWarmupCalls++;
            if (status != 0)
            {
                StopWide(model, $"gRPC status {status}: {message}");
            }
        }

        return sent;
    }

    private void StopWide(ServedModel model, string answer)
    {
        if (_wideWarmupOff.Add(model))
        {
            Log.WideWarmupRefused(_logger, model.Name, model.Version, answer);
        }
    }

    /// <summary><paramref name="request"/> in the binary tensor data extension's form, then over gRPC when it is on.</summary>
    private async Task<int> WarmUpBinaryAndGrpcAsync(HttpClient client, GrpcWarmupClient? grpc, ServedModel model, string path, InferenceRequest request, HashSet<ServedModel> refused)
    {
        (byte[] body, int headerLength) = WarmupBinaryRequest.Create(request);
        using (var content = new ByteArrayContent(body))
        {
            content.Headers.Add("Inference-Header-Content-Length", headerLength.ToString(CultureInfo.InvariantCulture));
            await ExpectModelAnswerAsync(client.PostAsync(new Uri(path + "/infer", UriKind.Relative), content), model, refused);
        }

        if (grpc is null)
        {
            return 1;
        }

        (int status, string message) = await grpc.InferAsync(GrpcWarmupClient.Message(model.Name, model.Version, request));
        _grpcWarmupCalls++;
        ExpectGrpcAnswer(status, message, model, refused);
        return 2;
    }

    /// <summary>
    /// A gRPC warm-up call's status: OK, or in process mode the model's refusal of the front's synthesised input
    /// (INVALID_ARGUMENT or INTERNAL, as <see cref="ExpectModelAnswerAsync"/> takes 400 and 500), logged once.
    /// </summary>
    private void ExpectGrpcAnswer(int status, string message, ServedModel model, HashSet<ServedModel> refused)
    {
        const int Ok = 0, InvalidArgument = 3, Internal = 13;
        if (status == Ok)
        {
            return;
        }

        if (model.Executor.Mode != "process" || status is not (InvalidArgument or Internal))
        {
            throw new InvalidOperationException($"warm-up gRPC ModelInfer of model '{model.Name}' answered status {status}: {message}");
        }

        if (refused.Add(model))
        {
            Log.WarmupRequestRefused(_logger, model.Name, model.Version, status, message);
        }
    }

    private static byte[]? FirstText(IReadOnlyList<InferenceRequest> requests)
    {
        foreach (InferenceRequest request in requests)
        {
            if (request.FindInput("text")?.BytesData is { Length: > 0 } texts && texts[0].Length > 0)
            {
                return texts[0];
            }
        }

        return null;
    }

    private static byte[] OipRequestJson(InferenceRequest request)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, JsonWriting.Options))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("parameters"u8);
            writer.WriteNumber("k"u8, request.Parameters.TopK);
            writer.WriteNumber("threshold"u8, request.Parameters.Threshold);
            writer.WriteEndObject();
            writer.WriteStartArray("inputs"u8);
            foreach (Tensor input in request.Inputs)
            {
                OipResponseWriter.WriteTensor(writer, input);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
