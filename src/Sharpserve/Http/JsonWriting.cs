using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sharpserve.Http;

/// <summary>
/// Writer options for every JSON body. The relaxed encoder keeps quotes and non-ASCII text readable
/// ("'text'", "café") instead of \u0027 escapes; bodies are API responses, never embedded in HTML.
/// </summary>
internal static class JsonWriting
{
    public static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };
}
