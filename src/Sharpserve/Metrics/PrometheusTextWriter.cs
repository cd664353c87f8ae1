using System.Globalization;
using System.Text;

namespace Sharpserve.Metrics;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4). Every label value goes through
/// <see cref="EscapeLabelValue"/> and every HELP text through <see cref="EscapeHelp"/>, so a model named with a quote,
/// a backslash or a line feed (names come from <c>--name</c>) still gives a valid exposition. Each family gets its
/// HELP and TYPE once, followed by its own samples only; writing it otherwise is a bug and throws.
/// </summary>
internal sealed class PrometheusTextWriter
{
    private readonly StringBuilder _text = new(4096);
    private readonly HashSet<string> _families = new(StringComparer.Ordinal);
    private string _family = "";

    /// <summary>Starts a family: its HELP and TYPE lines. Its samples follow, before the next family.</summary>
    public void Family(string name, string type, string help)
    {
        if (!_families.Add(name))
        {
            throw new InvalidOperationException($"metric family {name} is written twice");
        }

        _family = name;
        _text.Append("# HELP ").Append(name).Append(' ').Append(EscapeHelp(help)).Append('\n');
        _text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
    }

    /// <summary>One sample of the current family (for a histogram, its <c>_bucket</c>, <c>_sum</c> or <c>_count</c>).</summary>
    public void Sample(string name, long value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        StartSample(name, labels);
        _text.Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }

    /// <inheritdoc cref="Sample(string, long, ReadOnlySpan{ValueTuple{string, string}})"/>
    public void Sample(string name, double value, params ReadOnlySpan<(string Name, string Value)> labels)
    {
        StartSample(name, labels);
        _text.Append(FormatValue(value)).Append('\n');
    }

    public override string ToString() => _text.ToString();

    /// <summary>
    /// A label value as the format requires: backslash, double quote and line feed become <c>\\</c>, <c>\"</c> and
    /// <c>\n</c>; everything else (any UTF-8 text) stays as it is.
    /// </summary>
    public static string EscapeLabelValue(string value) => Escape(value, quotes: true);

    /// <summary>A HELP text as the format requires: backslash and line feed become <c>\\</c> and <c>\n</c>.</summary>
    public static string EscapeHelp(string text) => Escape(text, quotes: false);

    /// <summary>A sample value or bucket bound: invariant, shortest round-trip, and the format's spellings of infinity and NaN.</summary>
    public static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private void StartSample(string name, ReadOnlySpan<(string Name, string Value)> labels)
    {
        if (_family.Length == 0 || !name.StartsWith(_family, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"sample {name} is not of the current family '{_family}'");
        }

        _text.Append(name);
        if (labels.Length > 0)
        {
            _text.Append('{');
            for (int i = 0; i < labels.Length; i++)
            {
                _text.Append(i == 0 ? "" : ",").Append(labels[i].Name).Append("=\"").Append(EscapeLabelValue(labels[i].Value)).Append('"');
            }

            _text.Append('}');
        }

        _text.Append(' ');
    }

    private static string Escape(string value, bool quotes)
    {
        if (value.AsSpan().IndexOfAny(quotes ? "\\\"\n" : "\\\n") < 0)
        {
            return value;
        }

        var escaped = new StringBuilder(value.Length + 8);
        foreach (char c in value)
        {
            _ = c switch
            {
                '\\' => escaped.Append("\\\\"),
                '\n' => escaped.Append("\\n"),
                '"' when quotes => escaped.Append("\\\""),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }
}
