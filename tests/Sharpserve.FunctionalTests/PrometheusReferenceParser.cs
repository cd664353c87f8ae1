using System.Diagnostics;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// The reference reader of the Prometheus text format: <c>prometheus_client.parser.text_string_to_metric_families</c>
/// from Debian's python3-prometheus-client, run under <c>/usr/bin/python3</c> as a child process on a file. It
/// prints what it parsed as JSON, one object per family. A missing interpreter or module fails the test, naming what
/// to install: CI installs it (.ci/run), and a skipped check would let an invalid exposition through.
/// </summary>
internal static class PrometheusReferenceParser
{
    public const string Python = "/usr/bin/python3";

    public const string Install = "install Debian's python3-prometheus-client (apt-get update && apt-get install -y python3-prometheus-client)";

    private const string Script = """
        import json, sys
        try:
            from prometheus_client.parser import text_string_to_metric_families
        except ImportError as error:
            sys.stderr.write(f"cannot import prometheus_client.parser ({error})\n")
            sys.exit(3)
        with open(sys.argv[1], encoding="utf-8", newline="") as exposition:
            text = exposition.read()
        families = [
            {
                "name": family.name,
                "type": family.type,
                "help": family.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
            }
            for family in text_string_to_metric_families(text)
        ]
        json.dump(families, sys.stdout, allow_nan=False)
        """;

    /// <summary>Parses <paramref name="exposition"/>; fails the test when the parser rejects it or cannot run.</summary>
    public static async Task<IReadOnlyList<ParsedFamily>> ParseAsync(string exposition)
    {
        string file = Path.Combine(Path.GetTempPath(), $"sharpserve-metrics-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, exposition, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        try
        {
            var info = new ProcessStartInfo(Python)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(Script);
            info.ArgumentList.Add(file);
            Process process;
            try
            {
                process = Process.Start(info)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                Assert.Fail($"cannot run {Python} ({e.Message}): {Install}");
                throw;
            }

            using (process)
            {
                Task<string> stdout = process.StandardOutput.ReadToEndAsync();
                Task<string> stderr = process.StandardError.ReadToEndAsync();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                try
                {
                    await process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill();
                    Assert.Fail("the Prometheus parser did not finish within 60 s");
                }

                string errors = await stderr;
                Assert.True(process.ExitCode != 3, $"{errors.Trim()}: {Install}");
                Assert.True(process.ExitCode == 0, $"prometheus_client rejected the exposition (exit {process.ExitCode}): {errors}\n{exposition}");
                return Read(await stdout);
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static List<ParsedFamily> Read(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        var families = new List<ParsedFamily>();
        foreach (JsonElement family in document.RootElement.EnumerateArray())
        {
            var samples = new List<ParsedSample>();
            foreach (JsonElement sample in family.GetProperty("samples").EnumerateArray())
            {
                var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
                foreach (JsonProperty label in sample.GetProperty("labels").EnumerateObject())
                {
                    labels.Add(label.Name, label.Value.GetString()!);
                }

                samples.Add(new ParsedSample(sample.GetProperty("name").GetString()!, labels, sample.GetProperty("value").GetDouble()));
            }

            families.Add(new ParsedFamily(
                family.GetProperty("name").GetString()!, family.GetProperty("type").GetString()!, family.GetProperty("help").GetString()!, samples));
        }

        return families;
    }
}
