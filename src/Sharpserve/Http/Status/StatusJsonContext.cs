using System.Text.Json.Serialization;

namespace Sharpserve.Http.Status;

/// <summary>
/// Source-generated (de)serialization of <see cref="StatusDocument"/>, shared by the endpoint and the CLI so both
/// agree on every name. Reading is strict about what a status must hold (required fields, no null where the
/// records say non-null) and tolerant of fields it does not know (a newer server's).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
