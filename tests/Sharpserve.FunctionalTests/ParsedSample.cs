namespace Sharpserve.FunctionalTests;

/// <summary>One sample: its full name (with <c>_total</c>, <c>_bucket</c>, ...), its labels (unescaped, by name) and value.</summary>
internal sealed record ParsedSample(string Name, SortedDictionary<string, string> Labels, double Value)
{
    /// <summary>The sample as one comparable string: name, labels in name order, value.</summary>
    public string Key => $"{Name}{{{string.Join(",", Labels.Select(l => $"{l.Key}={l.Value}"))}}} {Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";
}
