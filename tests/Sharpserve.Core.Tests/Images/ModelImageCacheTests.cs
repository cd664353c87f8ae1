using Microsoft.Extensions.Time.Testing;
using Sharpserve.Abstractions;
using Sharpserve.Abstractions.Images;
using Sharpserve.Core.Images;
using Sharpserve.Testing;

namespace Sharpserve.Core.Tests.Images;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ModelImageCacheTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeImageBackend _backend = new();

    // An hour ahead of the file system, so a freshly written source is not "racy" (that has its own test).
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow.AddHours(1));
    private readonly ModelImageCache _cache;
    private readonly string _source;

    public ModelImageCacheTests()
    {
        _cache = new ModelImageCache(_temp.File("cache"), _time);
        _source = _temp.File("model.fake");
        FakeImageBackend.WriteSource(_source, "first");
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Prepare_WithoutAnImage_BuildsIt_ThenReusesIt()
    {
        ModelPreparation first = _cache.Prepare(_source, _backend);
        ModelPreparation second = _cache.Prepare(_source, _backend);

        Assert.Equal((ModelPreparationAction.Built, "no image yet"), (first.Action, first.Reason));
        Assert.Equal(ModelPreparationAction.Reused, second.Action);
        Assert.Equal(first.PreparedPath, second.PreparedPath);
        Assert.Equal(_cache.GetImagePath(_source), first.PreparedPath);
        Assert.Equal(1, _backend.Writes);
        Assert.Equal("first", FakeImageBackend.ReadText(first.PreparedPath));
        using ModelImage image = ModelImage.Open(first.PreparedPath);
        Assert.Equal(new FileInfo(_source).Length, image.Source.Size);
        Assert.NotEqual(UInt128.Zero, image.Source.ContentHash);
        Assert.False(image.Source.FingerprintIsRacy);
    }

    [Fact]
    public void Prepare_ReportsHashingWritingAndSyncing_ThenNothingWhenTheImageIsFresh()
    {
        var building = new RecordingProgress();
        var reusing = new RecordingProgress();

        string image = _cache.Prepare(_source, _backend, building).PreparedPath;
        _cache.Prepare(_source, _backend, reusing);

        Assert.Equal([ModelImageCache.HashingStep, ModelImageWriter.ProgressStep, ModelImageCache.SyncingStep], building.Steps);
        IReadOnlyList<ProgressReport> reports = building.Reports;
        long sourceLength = new FileInfo(_source).Length;
        Assert.Equal(new ProgressReport(ModelImageCache.HashingStep, sourceLength, sourceLength), reports.Last(r => r.Step == ModelImageCache.HashingStep));
        Assert.Equal(new FileInfo(image).Length, reports.Last(r => r.Step == ModelImageWriter.ProgressStep).BytesDone);
        Assert.Empty(reusing.Reports);
    }

    [Fact]
    public void Prepare_WritesAReadOnlyImage_AndLeavesNoTempOrLockFile()
    {
        string image = _cache.Prepare(_source, _backend).PreparedPath;

        UnixFileMode mode = File.GetUnixFileMode(image);
        Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
        Assert.True(mode.HasFlag(UnixFileMode.UserRead));
        string name = Path.GetFileName(image);
        Assert.Equal(["cache/" + name, "model.fake"], _temp.FileNames());
    }

    [Fact]
    public void Prepare_ConcurrentPreparers_ShareOneLock_AndLeaveNoLockFile()
    {
        var results = new ModelPreparation[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => results[i] = _cache.Prepare(_source, _backend));

        Assert.All(results, r => Assert.Equal(results[0].PreparedPath, r.PreparedPath));
        Assert.Equal(["cache/" + Path.GetFileName(results[0].PreparedPath), "model.fake"], _temp.FileNames());
    }

    [Fact]
    public void Prepare_KeepsAPrivateSourcePrivate()
    {
        File.SetUnixFileMode(_source, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        string image = _cache.Prepare(_source, _backend).PreparedPath;

        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(image));
    }

    [Fact]
    public void Prepare_AfterTheSourceChanged_Rebuilds()
    {
        _cache.Prepare(_source, _backend);
        FakeImageBackend.WriteSource(_source, "second, longer");

        ModelPreparation again = _cache.Prepare(_source, _backend);

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Contains("size changed", again.Reason, StringComparison.Ordinal);
        Assert.Equal("second, longer", FakeImageBackend.ReadText(again.PreparedPath));
    }

    [Fact]
    public void Prepare_AfterTheSourceWasRewrittenWithTheSameSize_Rebuilds()
    {
        _cache.Prepare(_source, _backend);
        File.SetLastWriteTimeUtc(_source, DateTime.UtcNow.AddMinutes(-5));
        FakeImageBackend.WriteSource(_source, "FIRST");

        ModelPreparation again = _cache.Prepare(_source, _backend);

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Contains("modification time", again.Reason, StringComparison.Ordinal);
        Assert.Equal("FIRST", FakeImageBackend.ReadText(again.PreparedPath));
    }

    [Fact]
    public void Prepare_AfterTheSourceWasReplacedByRename_Rebuilds()
    {
        _cache.Prepare(_source, _backend);
        string replacement = _temp.File("new.fake");
        FakeImageBackend.WriteSource(replacement, "other");
        File.SetLastWriteTimeUtc(replacement, File.GetLastWriteTimeUtc(_source));
        File.Move(replacement, _source, overwrite: true);

        ModelPreparation again = _cache.Prepare(_source, _backend);

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Equal("other", FakeImageBackend.ReadText(again.PreparedPath));
    }

    [Fact]
    public void Prepare_ASourceModifiedJustBeforeItsBuild_IsMarkedRacy_AndRebuiltOnceLater()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new ModelImageCache(_temp.File("cache"), time);

        ModelPreparation first = cache.Prepare(_source, _backend);
        using (ModelImage image = ModelImage.Open(first.PreparedPath))
        {
            Assert.True(image.Source.FingerprintIsRacy);
        }

        time.Advance(TimeSpan.FromMinutes(1));
        ModelPreparation second = cache.Prepare(_source, _backend);
        ModelPreparation third = cache.Prepare(_source, _backend);

        Assert.Equal(ModelPreparationAction.Built, second.Action);
        Assert.Contains("modified just before", second.Reason, StringComparison.Ordinal);
        Assert.Equal(ModelPreparationAction.Reused, third.Action);
    }

    [Fact]
    public void Prepare_ForAnotherBackendFormatVersion_Rebuilds()
    {
        _cache.Prepare(_source, _backend);

        ModelPreparation again = _cache.Prepare(_source, new FakeImageBackend(imageFormatVersion: 2));

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Contains("format version 1; this build writes fake version 2", again.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Prepare_OverACorruptImage_Rebuilds()
    {
        string image = _cache.Prepare(_source, _backend).PreparedPath;
        byte[] bytes = File.ReadAllBytes(image);
        bytes[258] ^= 0xFF; // inside the verified data section, which starts at byte 256
        Overwrite(image, bytes);

        ModelPreparation again = _cache.Prepare(_source, _backend);

        Assert.Equal(ModelPreparationAction.Built, again.Action);
        Assert.Contains("section 'fake.data' is corrupt", again.Reason, StringComparison.Ordinal);
        Assert.Equal("first", FakeImageBackend.ReadText(image));
    }

    [Fact]
    public void Prepare_OverATruncatedImage_Rebuilds_AtManyOffsets()
    {
        string image = _cache.Prepare(_source, _backend).PreparedPath;
        byte[] bytes = File.ReadAllBytes(image);
        foreach (int length in new[] { 0, 3, 8, 100, 255, 256, 300, bytes.Length / 2, bytes.Length - 64, bytes.Length - 1 })
        {
            Overwrite(image, bytes.AsSpan(0, length).ToArray());

            ModelPreparation again = _cache.Prepare(_source, _backend);

            Assert.Equal(ModelPreparationAction.Built, again.Action);
            Assert.Contains(Path.GetFileName(image), again.Reason, StringComparison.Ordinal);
            Assert.Equal("first", FakeImageBackend.ReadText(image));
        }
    }

    [Fact]
    public void Prepare_OverAForeignFileInTheCache_Rebuilds_ButAnExplicitOutputIsNeverOverwritten()
    {
        string image = _cache.GetImagePath(_source);
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        File.WriteAllText(image, "not an image");
        string output = _temp.File("precious.bin");
        File.WriteAllText(output, "someone's model");

        ModelPreparation cached = _cache.Prepare(_source, _backend);
        ModelLoadException refused = Assert.Throws<ModelLoadException>(() => _cache.PrepareAt(_source, output, _backend));

        Assert.Equal(ModelPreparationAction.Built, cached.Action);
        Assert.Contains("not a Sharpserve model image", cached.Reason, StringComparison.Ordinal);
        Assert.Equal("precious.bin: exists and is not a Sharpserve model image; refusing to overwrite it", refused.Message);
        Assert.Equal("someone's model", File.ReadAllText(output));
    }

    [Fact]
    public void PrepareAt_WritesTheImageWhereAsked()
    {
        string output = _temp.File("out/model.ssimg");
        Directory.CreateDirectory(Path.GetDirectoryName(output)!);

        ModelPreparation first = _cache.PrepareAt(_source, output, _backend);
        ModelPreparation second = _cache.PrepareAt(_source, output, _backend);

        Assert.Equal((output, ModelPreparationAction.Built), (first.PreparedPath, first.Action));
        Assert.Equal(ModelPreparationAction.Reused, second.Action);
        Assert.Throws<ModelLoadException>(() => _cache.PrepareAt(_source, _source, _backend));
    }

    [Fact]
    public void Prepare_WhenTheBackendFails_LeavesTheOldImageAndNoTempFile()
    {
        string image = _cache.Prepare(_source, _backend).PreparedPath;
        File.WriteAllText(_source, "not fake at all");

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => _cache.Prepare(_source, _backend));

        Assert.Equal("model.fake: not a fake model", error.Message);
        Assert.Equal("first", FakeImageBackend.ReadText(image));
        Assert.DoesNotContain(_temp.FileNames(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Prepare_DeletesTempFilesOfBuildersThatDied()
    {
        string image = _cache.GetImagePath(_source);
        Directory.CreateDirectory(Path.GetDirectoryName(image)!);
        File.WriteAllText(image + ".12345-dead.tmp", "half an image");

        _cache.Prepare(_source, _backend);

        Assert.DoesNotContain(_temp.FileNames(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Prepare_FromManyThreadsAtOnce_BuildsOnce_AndEveryoneGetsAValidImage()
    {
        const int Preparers = 6;
        using var barrier = new Barrier(Preparers);
        var results = new ModelPreparation[Preparers];
        Thread[] threads = [.. Enumerable.Range(0, Preparers).Select(i => new Thread(() =>
        {
            barrier.SignalAndWait();
            results[i] = new ModelImageCache(_temp.File("cache"), _time).Prepare(_source, _backend);
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        Assert.Equal(1, _backend.Writes);
        Assert.Single(results, r => r.Action == ModelPreparationAction.Built);
        Assert.Single(results.Select(r => r.PreparedPath).Distinct());
        Assert.Equal("first", FakeImageBackend.ReadText(results[0].PreparedPath));
        Assert.DoesNotContain(_temp.FileNames(), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Rebuild_WhileTheOldImageIsMapped_LeavesTheMappingIntact()
    {
        string path = _cache.Prepare(_source, _backend).PreparedPath;
        using ModelImage old = ModelImage.Open(path);
        FakeImageBackend.WriteSource(_source, "a new and longer model");

        _cache.Prepare(_source, _backend);

        Assert.Equal("FAKEfirst"u8.ToArray(), old.GetSpan<byte>(old.GetSection<byte>(FakeImageBackend.DataSection)).ToArray());
        old.VerifyAllChecksums();
        Assert.Equal("a new and longer model", FakeImageBackend.ReadText(path));
    }

    [Fact]
    public void Prepare_WhenTheSourceChangesDuringTheBuild_BuildsAgainFromTheNewContent()
    {
        _backend.DuringWrite = write =>
        {
            if (write == 1)
            {
                FakeImageBackend.WriteSource(_source, "changed meanwhile");
            }
        };

        ModelPreparation result = _cache.Prepare(_source, _backend);

        Assert.Equal(2, _backend.Writes);
        Assert.Equal("changed meanwhile", FakeImageBackend.ReadText(result.PreparedPath));
        using ModelImage image = ModelImage.Open(result.PreparedPath);
        Assert.Equal(new FileInfo(_source).Length, image.Source.Size);
    }

    [Fact]
    public void Prepare_AMissingSource_SaysSo()
    {
        string missing = _temp.File("missing.fake");

        Assert.Equal($"{missing}: no such file", Assert.Throws<ModelLoadException>(() => _cache.Prepare(missing, _backend)).Message);
    }

    [Fact]
    public void Prepare_WhenTheCacheDirectoryCannotBeCreated_SaysWhichSettingToChange()
    {
        File.WriteAllText(_temp.File("blocker"), "a file where the directory should be");
        var cache = new ModelImageCache(_temp.File("blocker/cache"), _time);

        ModelLoadException error = Assert.Throws<ModelLoadException>(() => cache.Prepare(_source, _backend));

        Assert.StartsWith("model.fake: cannot create the image cache directory ", error.Message, StringComparison.Ordinal);
        Assert.Contains("SHARPSERVE_CACHE_DIR", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetImagePath_IsStablePerSourcePath_AndReadable()
    {
        string other = _temp.File("elsewhere/model.fake");

        Assert.Equal(_cache.GetImagePath(_source), _cache.GetImagePath(_source));
        Assert.NotEqual(_cache.GetImagePath(_source), _cache.GetImagePath(other));
        Assert.Matches(@"^model-[0-9a-f]{16}\.ssimg$", Path.GetFileName(_cache.GetImagePath(_source)));
        Assert.Matches(@"^we_ird_name-[0-9a-f]{16}\.ssimg$", Path.GetFileName(_cache.GetImagePath(_temp.File("we ird+name.bin"))));
        Assert.Equal(_temp.File("cache"), Path.GetDirectoryName(_cache.GetImagePath(_source)));
    }

    // Images are read-only; tests that damage one make it writable first.
    private static void Overwrite(string path, byte[] bytes)
    {
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllBytes(path, bytes);
    }
}
