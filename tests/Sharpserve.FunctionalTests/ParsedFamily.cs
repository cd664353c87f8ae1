namespace Sharpserve.FunctionalTests;

/// <summary>One metric family as a parser read it: name, type, HELP text (unescaped) and samples.</summary>
internal sealed record ParsedFamily(string Name, string Type, string Help, IReadOnlyList<ParsedSample> Samples);
