using System.Globalization;
using System.Text;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// A strict reader of the Prometheus text format (0.0.4), the C# side of the check prometheus_client makes
/// (<see cref="PrometheusReferenceParser"/>), plus what that parser lets through: a family's HELP or TYPE given
/// twice, a sample away from its family's block, a series given twice, and histogram buckets that are not
/// cumulative, lack <c>+Inf</c>, or disagree with <c>_count</c>. Throws <see cref="FormatException"/> naming the line.
/// </summary>
internal static class StrictExpositionReader
{
    private static readonly string[] s_types = ["counter", "gauge", "histogram", "summary", "untyped"];

    public static IReadOnlyList<ParsedFamily> Read(string text)
    {
        if (text.Length > 0 && !text.EndsWith('\n'))
        {
            throw new FormatException("the exposition does not end with a line feed");
        }

        var families = new List<(string Name, string Type, string Help, List<ParsedSample> Samples)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var series = new HashSet<string>(StringComparer.Ordinal);
        string[] lines = text.Split('\n');
        for (int n = 0; n < lines.Length - 1; n++)
        {
            string line = lines[n];
            try
            {
                if (line.Length == 0)
                {
                    continue;
                }

                if (line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal))
                {
                    string rest = line[7..];
                    int space = rest.IndexOf(' ', StringComparison.Ordinal);
                    string name = space < 0 ? rest : rest[..space];
                    string value = space < 0 ? "" : rest[(space + 1)..];
                    CheckMetricName(name);
                    if (families.Count == 0 || families[^1].Name != name)
                    {
                        if (!names.Add(name))
                        {
                            throw new FormatException($"family {name} appears in two places");
                        }

                        families.Add((name, "untyped", "", []));
                    }

                    (string _, string type, string help, List<ParsedSample> samples) = families[^1];
                    if (samples.Count > 0)
                    {
                        throw new FormatException($"HELP or TYPE of {name} after its samples");
                    }

                    if (line[2] == 'H')
                    {
                        families[^1] = (name, type, help.Length > 0 ? throw new FormatException($"second HELP for {name}") : UnescapeHelp(value), samples);
                    }
                    else
                    {
                        if (type != "untyped" || !s_types.Contains(value))
                        {
                            throw new FormatException($"second or unknown TYPE for {name}: '{value}'");
                        }

                        families[^1] = (name, value, help, samples);
                    }

                    continue;
                }

                if (line.StartsWith('#'))
                {
                    throw new FormatException("a comment that is neither HELP nor TYPE");
                }

                ParsedSample sample = ReadSample(line);
                if (families.Count == 0 || !BelongsTo(sample.Name, families[^1].Name, families[^1].Type))
                {
                    throw new FormatException($"sample {sample.Name} is not in its family's block");
                }

                if (!series.Add(sample.Name + "{" + string.Join(",", sample.Labels.Select(l => $"{l.Key}={l.Value}")) + "}"))
                {
                    throw new FormatException($"series {sample.Name} given twice with the same labels");
                }

                families[^1].Samples.Add(sample);
            }
            catch (FormatException e)
            {
                throw new FormatException($"line {n + 1} ('{line}'): {e.Message}", e);
            }
        }

        var read = new List<ParsedFamily>();
        foreach ((string name, string type, string help, List<ParsedSample> samples) in families)
        {
            if (type == "histogram")
            {
                CheckHistogram(name, samples);
            }

            read.Add(new ParsedFamily(name, type, help, samples));
        }

        return read;
    }

    private static bool BelongsTo(string sample, string family, string type) =>
        sample == family ||
        (type == "histogram" && (sample == family + "_bucket" || sample == family + "_sum" || sample == family + "_count")) ||
        (type == "summary" && (sample == family + "_sum" || sample == family + "_count"));

    private static ParsedSample ReadSample(string line)
    {
        int i = 0;
        while (i < line.Length && line[i] is not ('{' or ' '))
        {
            i++;
        }

        string name = line[..i];
        CheckMetricName(name);
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (i < line.Length && line[i] != '}')
            {
                int equals = line.IndexOf('=', i);
                string label = equals < 0 ? throw new FormatException("a label without '='") : line[i..equals];
                CheckLabelName(label);
                if (equals + 1 >= line.Length || line[equals + 1] != '"')
                {
                    throw new FormatException($"label {label}'s value is not quoted");
                }

                (string value, i) = ReadQuoted(line, equals + 2);
                if (!labels.TryAdd(label, value))
                {
                    throw new FormatException($"label {label} given twice");
                }

                if (i < line.Length && line[i] == ',')
                {
                    i++;
                }
                else if (i >= line.Length || line[i] != '}')
                {
                    throw new FormatException("labels not separated by ',' or closed by '}'");
                }
            }

            i = i < line.Length ? i + 1 : throw new FormatException("labels not closed by '}'");
        }

        if (i >= line.Length || line[i] != ' ')
        {
            throw new FormatException("no space before the value");
        }

        string[] rest = line[(i + 1)..].Split(' ');
        if (rest.Length is < 1 or > 2 || !TryParseValue(rest[0], out double number) || (rest.Length == 2 && !long.TryParse(rest[1], CultureInfo.InvariantCulture, out _)))
        {
            throw new FormatException($"value '{line[(i + 1)..]}' is not a number (and an optional timestamp)");
        }

        return new ParsedSample(name, labels, number);
    }

    /// <summary>A label value from after its opening quote: only \\, \" and \n are escapes; a raw quote ends it.</summary>
    private static (string Value, int Next) ReadQuoted(string line, int start)
    {
        var value = new StringBuilder();
        for (int i = start; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"')
            {
                return (value.ToString(), i + 1);
            }

            if (c == '\\')
            {
                char next = i + 1 < line.Length ? line[++i] : throw new FormatException("a backslash at the end of the line");
                value.Append(next switch
                {
                    '\\' => '\\',
                    '"' => '"',
                    'n' => '\n',
                    _ => throw new FormatException($"unknown escape \\{next} in a label value"),
                });
            }
            else
            {
                value.Append(c);
            }
        }

        throw new FormatException("an unterminated label value");
    }

    private static string UnescapeHelp(string text)
    {
        var help = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\\')
            {
                help.Append(text[i]);
                continue;
            }

            char next = i + 1 < text.Length ? text[++i] : throw new FormatException("a backslash at the end of HELP");
            help.Append(next switch
            {
                '\\' => '\\',
                'n' => '\n',
                _ => throw new FormatException($"unknown escape \\{next} in HELP"),
            });
        }

        return help.ToString();
    }

    private static void CheckHistogram(string name, List<ParsedSample> samples)
    {
        foreach (IGrouping<string, ParsedSample> group in samples.GroupBy(s => string.Join(",", s.Labels.Where(l => l.Key != "le").Select(l => $"{l.Key}={l.Value}"))))
        {
            List<ParsedSample> buckets = [.. group.Where(s => s.Name == name + "_bucket")];
            double previousBound = double.NegativeInfinity;
            double previousCount = 0;
            foreach (ParsedSample bucket in buckets)
            {
                if (!bucket.Labels.TryGetValue("le", out string? le) || !TryParseValue(le, out double bound) || bound <= previousBound)
                {
                    throw new FormatException($"{name} {{{group.Key}}}: bucket bounds missing or not increasing");
                }

                if (bucket.Value < previousCount)
                {
                    throw new FormatException($"{name} {{{group.Key}}}: bucket le=\"{le}\" has {bucket.Value} < {previousCount}: not cumulative");
                }

                (previousBound, previousCount) = (bound, bucket.Value);
            }

            ParsedSample? count = group.SingleOrDefault(s => s.Name == name + "_count");
            if (!double.IsPositiveInfinity(previousBound) || count is null || count.Value != previousCount || !group.Any(s => s.Name == name + "_sum"))
            {
                throw new FormatException($"{name} {{{group.Key}}}: needs a last bucket le=\"+Inf\" equal to _count, and _sum");
            }
        }
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            case "NaN":
                value = double.NaN;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    private static void CheckMetricName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or ':'))
        {
            throw new FormatException($"'{name}' is not a metric name");
        }
    }

    private static void CheckLabelName(string name)
    {
        if (name.Length == 0 || char.IsAsciiDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            throw new FormatException($"'{name}' is not a label name");
        }
    }
}
