using System.Globalization;

namespace Sharpserve.Backends.FastText.Tests;

public sealed class FastTextStreamPredictorTests : IDisposable
{
    private readonly FastTextModel _model = FastTextModel.Open(FastTextTestData.ModelPath("softmax-default"), "m");

    public void Dispose() => _model.Dispose();

    [Fact]
    public void Predict_OnAStreamThatReturnsOneByteAtATime_GivesTheSameOutput()
    {
        byte[] input = File.ReadAllBytes(FastTextTestData.InputPath);
        Assert.Equal(Run(new MemoryStream(input), -1), Run(new TrickleStream(input), -1));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("\n", 1)]
    [InlineData("license\n", 1)]
    [InlineData("license", 1)]
    [InlineData("license\n\n", 2)]
    [InlineData("one </s> two\n", 2)]
    [InlineData("one </s>\n", 2)]
    [InlineData("a\r\nb\r\n", 2)]
    [InlineData("a\n  ", 2)]
    public void Predict_CountsRecordsLikeFastText(string input, int lines)
    {
        string output = Run(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(input)), 1);
        Assert.Equal(lines, output.Split('\n').Length - 1);
    }

    [Fact]
    public void Predict_TrailingWhitespaceWithoutNewline_PrintsAnEmptyLine() =>
        Assert.EndsWith("\n\n", Run(new MemoryStream("license\n   "u8.ToArray()), 1), StringComparison.Ordinal);

    [Fact]
    public void Predict_InvalidK_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => FastTextStreamPredictor.Predict(_model, new MemoryStream(), TextWriter.Null, 0, 0f));

    [Fact]
    public void Predict_StreamsLargeInputs()
    {
        // 20 MB of input through a stream that cannot seek or tell its length.
        var input = new RepeatingStream("Permission is hereby granted, free of charge, to any person\n"u8.ToArray(), 350_000);
        var counter = new LineCountingWriter();
        FastTextStreamPredictor.Predict(_model, input, counter, 1, 0f);
        Assert.Equal(350_000, counter.Lines);
    }

    private string Run(Stream input, int k)
    {
        var writer = new StringWriter(CultureInfo.InvariantCulture);
        FastTextStreamPredictor.Predict(_model, input, writer, k, 0f);
        return writer.ToString();
    }

    private sealed class TrickleStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position == data.Length || count == 0)
            {
                return 0;
            }

            buffer[offset] = data[_position++];
            return 1;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class RepeatingStream(byte[] line, int times) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            long total = (long)line.Length * times;
            int written = 0;
            while (written < count && _position < total)
            {
                buffer[offset + written++] = line[_position++ % line.Length];
            }

            return written;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private sealed class LineCountingWriter : TextWriter
    {
        public int Lines { get; private set; }

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                Lines++;
            }
        }
    }
}
