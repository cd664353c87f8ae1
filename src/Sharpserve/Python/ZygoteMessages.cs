using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sharpserve.Python;

/// <summary>
/// One line from a zygote (docs/python-backend.md section 2.1): every event's fields in one shape, those an event
/// does not carry left null.
/// </summary>
internal sealed class ZygoteEvent
{
    public string? Event { get; set; }

    public int? Version { get; set; }

    public int? Pid { get; set; }

    public string? Python { get; set; }

    public string? Error { get; set; }

    public string? Traceback { get; set; }

    public int? Id { get; set; }

    public string? Status { get; set; }

    public double? LoadSeconds { get; set; }

    public double? WarmupSeconds { get; set; }

    public ZygoteMemory? Memory { get; set; }

    public ZygoteMetadata? Metadata { get; set; }

    public bool? Batch { get; set; }

    public List<List<ZygoteTensor>>? Warmup { get; set; }
}

/// <summary>The zygote's memory after gc.freeze(), from its smaps_rollup, in bytes.</summary>
internal sealed class ZygoteMemory
{
    public long Rss { get; set; }

    public long Pss { get; set; }

    public long PrivateDirty { get; set; }
}

/// <summary>The model's inputs and outputs as OIP model metadata names them.</summary>
internal sealed class ZygoteMetadata
{
    public List<ZygoteTensorSpec>? Inputs { get; set; }

    public List<ZygoteTensorSpec>? Outputs { get; set; }
}

internal sealed class ZygoteTensorSpec
{
    public string? Name { get; set; }

    public string? Datatype { get; set; }

    public List<long>? Shape { get; set; }
}

/// <summary>A warm-up input: data flat in row-major order (BYTES elements in base64).</summary>
internal sealed class ZygoteTensor
{
    public string? Name { get; set; }

    public string? Datatype { get; set; }

    public List<long>? Shape { get; set; }

    public JsonElement Data { get; set; }
}

/// <summary>One line to a zygote (section 2.2).</summary>
internal sealed class ZygoteCommand
{
    public required string Command { get; init; }

    public int? Id { get; init; }

    public string? Socket { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ZygoteEvent))]
[JsonSerializable(typeof(ZygoteCommand))]
internal sealed partial class ZygoteJsonContext : JsonSerializerContext;
