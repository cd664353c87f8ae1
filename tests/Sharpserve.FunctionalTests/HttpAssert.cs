using System.Net;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

internal static class HttpAssert
{
    /// <summary>Asserts the status and an OIP error body <c>{"error": "..."}</c> containing <paramref name="messagePart"/>.</summary>
    public static async Task ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string messagePart)
    {
        Assert.False(string.IsNullOrWhiteSpace(messagePart), "name the expected message: every message contains \"\"");
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using JsonDocument json = JsonDocument.Parse(body);
        string message = json.RootElement.GetProperty("error").GetString()!;
        Assert.Contains(messagePart, message, StringComparison.OrdinalIgnoreCase);
    }

    public static async Task<JsonDocument> JsonAsync(HttpResponseMessage response, HttpStatusCode status = HttpStatusCode.OK)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body);
    }
}
