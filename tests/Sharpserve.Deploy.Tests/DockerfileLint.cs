using System.Text.Json;
using System.Text.RegularExpressions;

namespace Sharpserve.Deploy.Tests;

/// <summary>
/// An offline lint of deploy/Dockerfile (there is no Docker daemon to build it): the instructions are read as
/// BuildKit reads them (comments, line continuations, stages) and checked against the rules docs/deploy.md states.
/// </summary>
internal static partial class DockerfileLint
{
    /// <summary>One instruction: its keyword (upper case), its arguments as written, and its line.</summary>
    public sealed record Instruction(string Keyword, string Arguments, int Line);

    /// <summary>One stage: its FROM image, its name (AS ...), and its instructions after FROM.</summary>
    public sealed record Stage(string Image, string? Name, IReadOnlyList<Instruction> Instructions);

    /// <summary>The images stages may start from, each pinned to the tag docs/deploy.md names.</summary>
    public static readonly string[] AllowedImages =
    [
        "mcr.microsoft.com/dotnet/sdk:10.0-noble",
        "mcr.microsoft.com/dotnet/aspnet:10.0-noble",
        "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled",
    ];

    /// <summary>The image every serving stage ends in by default: no shell, no package manager.</summary>
    public const string RuntimeImage = "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled";

    public static List<Instruction> Parse(string text)
    {
        var instructions = new List<Instruction>();
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        string? pending = null;
        int start = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.TrimStart().StartsWith('#'))
            {
                continue; // a comment (or a parser directive), also inside a continued instruction
            }

            if (pending is null)
            {
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                pending = "";
                start = i + 1;
            }

            bool continues = line.TrimEnd().EndsWith('\\');
            pending += continues ? line.TrimEnd()[..^1] + " " : line;
            if (!continues)
            {
                Match match = InstructionLine().Match(pending.Trim());
                instructions.Add(new Instruction(match.Groups[1].Value.ToUpperInvariant(), match.Groups[2].Value.Trim(), start));
                pending = null;
            }
        }

        return instructions;
    }

    public static List<Stage> Stages(IReadOnlyList<Instruction> instructions)
    {
        var stages = new List<Stage>();
        List<Instruction>? current = null;
        foreach (Instruction instruction in instructions)
        {
            if (instruction.Keyword == "FROM")
            {
                string[] words = [.. instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(w => !w.StartsWith("--", StringComparison.Ordinal))];
                current = [];
                stages.Add(new Stage(words[0], words.Length == 3 && words[1].Equals("AS", StringComparison.OrdinalIgnoreCase) ? words[2] : null, current));
            }
            else
            {
                current?.Add(instruction);
            }
        }

        return stages;
    }

    /// <summary>Every rule the recipe breaks, one line each naming the line; empty when it passes.</summary>
    public static List<string> Check(string text)
    {
        var problems = new List<string>();
        List<Instruction> instructions = Parse(text);
        List<Stage> stages = Stages(instructions);
        if (stages.Count == 0)
        {
            problems.Add("no FROM");
            return problems;
        }

        if (stages.Count < 2)
        {
            problems.Add("not multi-stage: the SDK builds in one stage and a runtime image serves in another");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (Stage stage in stages)
        {
            if (!AllowedImages.Contains(stage.Image))
            {
                problems.Add($"FROM {stage.Image}: not one of the pinned images ({string.Join(", ", AllowedImages)})");
            }

            foreach (Instruction instruction in stage.Instructions)
            {
                if (instruction.Keyword == "ADD")
                {
                    problems.Add($"line {instruction.Line}: ADD; use COPY (ADD fetches URLs and unpacks archives)");
                }

                if (instruction.Keyword == "COPY" && FromStage().Match(instruction.Arguments) is { Success: true } from && !names.Contains(from.Groups[1].Value))
                {
                    problems.Add($"line {instruction.Line}: COPY --from={from.Groups[1].Value} names no earlier stage");
                }
            }

            if (stage.Name is { } name)
            {
                names.Add(name);
            }
        }

        Stage final = stages[^1];
        if (final.Image != RuntimeImage)
        {
            problems.Add($"the default (last) stage is FROM {final.Image}, not {RuntimeImage}");
        }

        foreach (Stage stage in stages)
        {
            if (stage.Image.Contains("/sdk:", StringComparison.Ordinal))
            {
                continue; // a build stage: it runs nothing at serve time
            }

            CheckServingStage(stage, stage == final, problems);
        }

        return problems;
    }

    private static void CheckServingStage(Stage stage, bool isDefault, List<string> problems)
    {
        string label = stage.Name ?? stage.Image;
        Instruction? user = stage.Instructions.LastOrDefault(i => i.Keyword == "USER");
        if (user is null)
        {
            problems.Add($"stage {label}: no USER; serve as the numeric non-root user 1654 ($APP_UID)");
        }
        else if (!(user.Arguments is "$APP_UID" or "${APP_UID}" || (int.TryParse(user.Arguments, out int uid) && uid > 0)))
        {
            problems.Add($"line {user.Line}: USER {user.Arguments}: not a numeric non-root user (1654, $APP_UID)");
        }

        if (isDefault && stage.Instructions.FirstOrDefault(i => i.Keyword == "RUN") is { } run)
        {
            problems.Add($"line {run.Line}: RUN in the chiseled stage, which has no shell");
        }

        Instruction? entrypoint = stage.Instructions.LastOrDefault(i => i.Keyword == "ENTRYPOINT");
        if (entrypoint is null || ExecForm(entrypoint.Arguments) is not { Length: > 0 })
        {
            problems.Add($"stage {label}: ENTRYPOINT must be in exec form, [\"dotnet\", \"/app/sharpserve.dll\"] (no shell at run time)");
        }

        if (stage.Instructions.LastOrDefault(i => i.Keyword == "CMD") is { } cmd && ExecForm(cmd.Arguments) is null)
        {
            problems.Add($"line {cmd.Line}: CMD must be in exec form, a JSON array");
        }
    }

    /// <summary>The arguments of an exec-form (JSON array) instruction, or null for the shell form.</summary>
    public static string[]? ExecForm(string arguments)
    {
        if (!arguments.StartsWith('['))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<string[]>(arguments);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^(\w+)\s*(.*)$", RegexOptions.Singleline)]
    private static partial Regex InstructionLine();

    [GeneratedRegex(@"--from=(\S+)")]
    private static partial Regex FromStage();
}
