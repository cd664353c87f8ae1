using System.Net;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Backends.FastText;
using Sharpserve.Hosting;

namespace Sharpserve.FunctionalTests;

/// <summary>
/// Serving through model images: the user's model file is only read while preparing, so overwriting it in place
/// (which would SIGBUS every process mapping it) changes nothing until a reload; and `sharpserve prepare`.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ModelImageTests : IDisposable
{
    private const int SigTerm = 15;
    private static readonly string[] s_texts =
        ["Bonjour, je voudrais un café s'il vous plaît", "Guten Morgen, wie geht es dir heute?", "una cerveza por favor", "the weather is lovely"];

    private readonly string _dir = Directory.CreateTempSubdirectory("sharpserve-image-").FullName;

    public ModelImageTests()
    {
        ModelPath = Path.Combine(_dir, "model.bin");
        CacheDir = Path.Combine(_dir, "cache");
        File.Copy(TestServer.DemoModelPath, ModelPath);
    }

    private string ModelPath { get; }

    private string CacheDir { get; }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serve_ModelFileOverwrittenInPlace_AnswersTheSame_UntilAReloadPreparesANewImage()
    {
        using SharpserveProcess process = SharpserveProcess.Start($"serve \"{ModelPath}\" --port 0 --threads 1", CacheDir);
        Uri address = await process.WaitForAddressAsync();
        using var client = new HttpClient { BaseAddress = address };
        await SharpserveProcess.WaitForReadyAsync(client);
        string[] before = await PredictAllAsync(client);

        // The server maps its image in the cache, never the user's file.
        string maps = File.ReadAllText($"/proc/{process.Id}/maps");
        Assert.Contains(CacheDir, maps, StringComparison.Ordinal);
        Assert.DoesNotContain(ModelPath, maps, StringComparison.Ordinal);

        // Truncate and rewrite the same inode with another, smaller model: past its new end a mapping would fault.
        OverwriteInPlace(ModelPath, File.ReadAllBytes(TestServer.DataPath("fasttext", "models", "hs-sub.bin")));
        string[] after = await PredictAllAsync(client);

        // A reload prepares again: the new content gets a new image, renamed over the old path.
        string image = ModelLoader.PreparedPath(ModelPath, CacheDir);
        using (IModel reloaded = ModelLoader.Open(image, "model"))
        {
            Assert.Equal(14, ((FastTextModel)reloaded).LabelCount);
        }

        string[] afterReloadElsewhere = await PredictAllAsync(client);
        process.SendSignal(SigTerm);
        int exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(before, after);
        Assert.Equal(before, afterReloadElsewhere);
        Assert.Contains("__label__fr", before[0], StringComparison.Ordinal);
        Assert.Equal(0, exitCode);
    }

    [Fact]
    public async Task InProcessServer_OnAnImage_MapsIt_AndIgnoresTheSourceBeingOverwritten()
    {
        string image = ModelLoader.PreparedPath(ModelPath, CacheDir);
        await using TestServer server = await TestServer.StartAsync(ModelLoader.Open(image, "langid"));
        string[] before = await PredictAllAsync(server.Client);

        OverwriteInPlace(ModelPath, File.ReadAllBytes(TestServer.DataPath("fasttext", "models", "hs-one-label.bin")));

        Assert.Equal(before, await PredictAllAsync(server.Client));
        Assert.Equal(image, ModelLoader.PreparedPath(ModelPath, CacheDir));
    }

    [Fact]
    public async Task Prepare_PrintsTheImagePath_AndReusesAFreshImage()
    {
        File.SetLastWriteTimeUtc(ModelPath, DateTime.UtcNow.AddHours(-1)); // not "just modified", so the first image is trusted

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"");
        string image = stdout.TrimEnd('\n');
        DateTime written = File.GetLastWriteTimeUtc(image);
        (int againExit, string again, string againError) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --cache-dir \"{CacheDir}\"");

        Assert.True(exitCode == 0, stderr);
        Assert.StartsWith($"built model image {image} (", Assert.Single(stderr.TrimEnd('\n').Split('\n')), StringComparison.Ordinal);
        Assert.Equal($"reused model image {image} (up to date)\n", againError);
        Assert.Single(stdout.TrimEnd('\n').Split('\n'));
        Assert.Equal(CacheDir, Path.GetDirectoryName(image));
        Assert.EndsWith(".ssimg", image, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(image) & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
        Assert.Equal(0, againExit);
        Assert.Equal(stdout, again);
        Assert.Equal(written, File.GetLastWriteTimeUtc(image));
        Assert.Empty(Directory.GetFiles(CacheDir, "*.tmp"));
    }

    [Fact]
    public async Task PrepareWithOutput_WritesThere_AndTheImageServesLikeTheModel()
    {
        string output = Path.Combine(_dir, "langid.ssimg");
        byte[] input = Encoding.UTF8.GetBytes(string.Join('\n', s_texts) + "\n");

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync($"prepare \"{ModelPath}\" --output \"{output}\"");
        (int fromImageExit, string fromImage, _) = await SharpserveProcess.RunAsync($"predict \"{output}\" --k 3", stdin: input, cacheDir: CacheDir);
        (int fromModelExit, string fromModel, _) = await SharpserveProcess.RunAsync($"predict \"{ModelPath}\" --k 3", stdin: input, cacheDir: CacheDir);

        Assert.True(exitCode == 0, stderr);
        Assert.Equal(output + "\n", stdout);
        Assert.Equal((0, 0), (fromImageExit, fromModelExit));
        Assert.Equal(fromModel, fromImage);
        Assert.StartsWith("__label__fr ", fromImage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("prepare", "prepare needs exactly one MODEL")]
    [InlineData("prepare /no/such/model.bin", "/no/such/model.bin: no such file")]
    [InlineData("prepare a.bin --output x.ssimg --cache-dir y", "give --output or --cache-dir, not both")]
    [InlineData("prepare a.bin --bogus", "unknown option '--bogus'")]
    [InlineData("prepare {dir}", "is a directory")]
    [InlineData("prepare {model} --output {model}", "model.bin: the image cannot be written over its own source")]
    [InlineData("prepare {model} --output {dir}/precious.txt", "precious.txt: exists and is not a Sharpserve model image; refusing to overwrite it")]
    [InlineData("prepare {broken}", "broken.bin: truncated at byte 1000 while reading")]
    [InlineData("prepare {text}", "not a model format Sharpserve knows")]
    public async Task Prepare_Errors_AreOneClearLine(string arguments, string message)
    {
        string broken = Path.Combine(_dir, "broken.bin");
        File.WriteAllBytes(broken, File.ReadAllBytes(ModelPath).AsSpan(0, 1000).ToArray());
        string text = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(text, "just some notes");
        File.WriteAllText(Path.Combine(_dir, "precious.txt"), "keep me");
        arguments = arguments.Replace("{dir}", _dir, StringComparison.Ordinal).Replace("{model}", ModelPath, StringComparison.Ordinal)
            .Replace("{broken}", broken, StringComparison.Ordinal).Replace("{text}", text, StringComparison.Ordinal);

        (int exitCode, string stdout, string stderr) = await SharpserveProcess.RunAsync(arguments, cacheDir: CacheDir);

        Assert.NotEqual(0, exitCode);
        Assert.Equal("", stdout);
        Assert.StartsWith("sharpserve: error: ", stderr, StringComparison.Ordinal);
        Assert.Contains(message, stderr, StringComparison.Ordinal);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(_dir, "precious.txt")));
        Assert.True(!Directory.Exists(CacheDir) || Directory.GetFiles(CacheDir, "*.tmp").Length == 0);
    }

    [Fact]
    public async Task Serve_ACorruptCachedImage_IsRebuilt()
    {
        File.SetLastWriteTimeUtc(ModelPath, DateTime.UtcNow.AddHours(-1));
        string image = ModelLoader.PreparedPath(ModelPath, CacheDir);
        File.SetUnixFileMode(image, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        byte[] bytes = File.ReadAllBytes(image);
        File.WriteAllBytes(image, bytes.AsSpan(0, bytes.Length / 2).ToArray());

        ModelPreparation again = ModelLoader.Prepare(ModelPath, CacheDir, outputPath: null);
        using IModel model = ModelLoader.Open(again.PreparedPath, "langid");
        await using TestServer server = await TestServer.StartAsync(model);

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Contains("truncated", again.Reason, StringComparison.Ordinal);
        Assert.Contains("__label__fr", (await PredictAllAsync(server.Client))[0], StringComparison.Ordinal);
    }

    private static void OverwriteInPlace(string path, byte[] bytes)
    {
        using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write);
        stream.Write(bytes);
    }

    private static async Task<string[]> PredictAllAsync(HttpClient client)
    {
        var answers = new string[s_texts.Length];
        for (int i = 0; i < s_texts.Length; i++)
        {
            using HttpResponseMessage response = await client.PostAsync(
                new Uri("/labelservice/?k=-1", UriKind.Relative), new StringContent(s_texts[i]));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers[i] = await response.Content.ReadAsStringAsync();
        }

        return answers;
    }
}
