using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Sharpserve.FunctionalTests;

public sealed class LabelServiceTests : IAsyncLifetime
{
    private const string French = "Bonjour, je voudrais un café s'il vous plaît";
    private TestServer _server = null!;

    public async Task InitializeAsync() => _server = await TestServer.StartDemoAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Post_FrenchText_AnswersFrenchLabelAsPlainText()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new StringContent(French, Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("__label__fr", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_WithoutTrailingSlash_IsTheSameEndpoint()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice", UriKind.Relative), new StringContent(French));

        Assert.Equal("__label__fr", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_AnswerEqualsTheFastTextCliOnTheSameLine()
    {
        string[] sentences = FastTextGolden.Sentences();
        string[] top3 = FastTextGolden.Lines("langid", "k3");
        string[] top1 = FastTextGolden.Lines("langid", "k1");
        int compared = 0;
        for (int i = 0; i < sentences.Length; i++)
        {
            if (sentences[i].Length == 0)
            {
                continue; // an empty body is refused (Post_EmptyBody_Answers400)
            }

            using HttpResponseMessage response = await _server.Client.PostAsync(
                new Uri("/labelservice/?k=3", UriKind.Relative), new StringContent(sentences[i]));
            using JsonDocument json = await HttpAssert.JsonAsync(response);
            using HttpResponseMessage plain = await _server.Client.PostAsync(
                new Uri("/labelservice/", UriKind.Relative), new StringContent(sentences[i]));

            Assert.Equal(top3[i], FastTextGolden.AsCliLine(json.RootElement));
            Assert.Equal(top1[i].Split(' ')[0], await plain.Content.ReadAsStringAsync());
            compared++;
        }

        Assert.True(compared >= 10, $"only {compared} sentences compared");
    }

    [Fact]
    public async Task Post_WithK_AnswersJsonWithKLabelsInDescendingProbability()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/?k=3", UriKind.Relative), new StringContent(French));
        using JsonDocument json = await HttpAssert.JsonAsync(response);

        JsonElement labels = json.RootElement.GetProperty("labels");
        JsonElement probabilities = json.RootElement.GetProperty("probabilities");
        Assert.Equal(3, labels.GetArrayLength());
        Assert.Equal("__label__fr", labels[0].GetString());
        Assert.True(probabilities[0].GetDouble() >= probabilities[1].GetDouble());
        Assert.True(probabilities[1].GetDouble() >= probabilities[2].GetDouble());
    }

    [Fact]
    public async Task Post_WithKMinusOne_AnswersEveryLabel()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/?k=-1", UriKind.Relative), new StringContent(French));
        using JsonDocument json = await HttpAssert.JsonAsync(response);

        // The CLI's k -1 line lists all ten labels of the demo model.
        string expected = FastTextGolden.Line("langid", "kall", French);
        Assert.Equal(20, expected.Split(' ').Length);
        Assert.Equal(expected, FastTextGolden.AsCliLine(json.RootElement));
    }

    [Fact]
    public async Task Post_AcceptJson_AnswersJsonWithTopLabel()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/labelservice/") { Content = new StringContent(French) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using HttpResponseMessage response = await _server.Client.SendAsync(request);
        using JsonDocument json = await HttpAssert.JsonAsync(response);

        Assert.Equal("__label__fr", json.RootElement.GetProperty("labels")[0].GetString());
        Assert.Equal(1, json.RootElement.GetProperty("probabilities").GetArrayLength());
    }

    [Fact]
    public async Task Get_WithTextQuery_AnswersLikePost()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync(
            new Uri("/labelservice/?text=" + Uri.EscapeDataString(French), UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("__label__fr", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Get_WithoutText_Answers400()
    {
        using HttpResponseMessage response = await _server.Client.GetAsync(new Uri("/labelservice/", UriKind.Relative));
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "?text=");
    }

    [Fact]
    public async Task Post_EmptyBody_Answers400()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent([]));
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "empty");
    }

    [Fact]
    public async Task Post_InvalidUtf8_Answers400()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent([0x62, 0x6f, 0xff, 0xfe, 0x6e]));
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, "not valid UTF-8");
    }

    [Theory]
    [InlineData("k=0", "k must be")]
    [InlineData("k=abc", "k must be")]
    [InlineData("k=-2", "k must be")]
    [InlineData("threshold=2", "threshold must be")]
    [InlineData("threshold=nan", "threshold must be")]
    public async Task Post_BadQueryParameters_Answer400(string query, string message)
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/?" + query, UriKind.Relative), new StringContent(French));
        await HttpAssert.ErrorAsync(response, HttpStatusCode.BadRequest, message);
    }

    [Fact]
    public async Task Post_ThresholdOne_AnswersNoLabels()
    {
        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/?k=3&threshold=1", UriKind.Relative), new StringContent(French));
        using JsonDocument json = await HttpAssert.JsonAsync(response);

        Assert.Equal(0, json.RootElement.GetProperty("labels").GetArrayLength());
    }

    [Fact]
    public async Task Post_BodyOverLimit_Answers413_AndServerKeepsServing()
    {
        byte[] big = new byte[(1 << 20) + 1];
        big.AsSpan().Fill((byte)'a');
        using (HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent(big)))
        {
            await HttpAssert.ErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "larger than the limit");
        }

        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/labelservice/") { Content = new StreamContent(new MemoryStream(big)) };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using (HttpResponseMessage chunked = await _server.Client.SendAsync(chunkedRequest))
        {
            await HttpAssert.ErrorAsync(chunked, HttpStatusCode.RequestEntityTooLarge, "larger than the limit");
        }

        using HttpResponseMessage after = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new StringContent(French));
        Assert.Equal("__label__fr", await after.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Post_BodyJustUnderLimit_IsServed()
    {
        byte[] body = new byte[1 << 20];
        body.AsSpan().Fill((byte)'a');
        for (int i = 10; i < body.Length; i += 11)
        {
            body[i] = (byte)' ';
        }

        using HttpResponseMessage response = await _server.Client.PostAsync(
            new Uri("/labelservice/", UriKind.Relative), new ByteArrayContent(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("__label__", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
