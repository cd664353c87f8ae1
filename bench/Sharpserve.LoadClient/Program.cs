using System.Globalization;
using System.Text.Json;
using Sharpserve.LoadClient;

// Usage: Sharpserve.LoadClient CASE --texts N --conns C[,C...] --warmup S --seconds S [--model langid]
//                              [--url http://127.0.0.1:PORT] [--image DEMO.ssimg] [--label NAME]
//   CASE: inproc (--image: the fastText backend's session, no server) | http-json | http-binary (--url) |
//         grpc (--url: the gRPC port)
// Closed loop, bounded by time, one JSON line per concurrency level on stdout (bench/steps/protocols.sh).
//        Sharpserve.LoadClient body --case http-binary|grpc --texts N --out FILE [--model langid]
//   writes the exact request body this client sends, for C load generators (wrk, h2load) to replay; for http-binary
//   prints the Inference-Header-Content-Length value on stdout.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: Sharpserve.LoadClient inproc|http-json|http-binary|grpc --texts N --conns C[,C...] ...");
    return 2;
}

string kind = args[0];
var options = new Dictionary<string, string>();
for (int i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

int textCount = int.Parse(options.GetValueOrDefault("texts", "1"), CultureInfo.InvariantCulture);
int[] connsList = options.GetValueOrDefault("conns", "1").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
var warmup = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("warmup", "1"), CultureInfo.InvariantCulture));
var duration = TimeSpan.FromSeconds(double.Parse(options.GetValueOrDefault("seconds", "5"), CultureInfo.InvariantCulture));
string model = options.GetValueOrDefault("model", "langid");
string label = options.GetValueOrDefault("label", kind);
string[] texts = Texts.Take(textCount);
if (kind == "body")
{
    return RequestBodies.Write(options.GetValueOrDefault("case", ""), options.GetValueOrDefault("out", ""), model, texts);
}

var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

foreach (int conns in connsList)
{
    LoadResult result;
    switch (kind)
    {
        case "inproc":
        {
            using var inProcess = new InProcessCase(options["image"], texts, conns);
            result = await ClosedLoop.RunAsync(label, conns, textCount, warmup, duration, inProcess.Call);
            break;
        }

        case "http-json" or "http-binary":
        {
            using var client = HttpCases.CreateClient(conns);
            string url = options["url"].TrimEnd('/') + "/v2/models/" + model + "/infer";
            var call = kind == "http-json" ? HttpCases.Json(client, url, texts) : HttpCases.Binary(client, url, texts);
            result = await ClosedLoop.RunAsync(label, conns, textCount, warmup, duration, call);
            break;
        }

        case "grpc":
        {
            var clients = GrpcCases.CreateClients(options["url"], conns);
            result = await ClosedLoop.RunAsync(label, conns, textCount, warmup, duration,
                GrpcCases.Infer(clients, GrpcCases.Request(model, texts)));
            break;
        }

        default:
            Console.Error.WriteLine($"unknown case {kind}");
            return 2;
    }

    Console.WriteLine(JsonSerializer.Serialize(result, json));
}

return 0;
