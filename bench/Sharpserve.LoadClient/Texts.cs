using System.Text;

namespace Sharpserve.LoadClient;

/// <summary>
/// The request texts: the eight demo sentences (the ones bench/lua/bench.lua and the micro-benchmark send), in
/// rotation up to the request's size.
/// </summary>
internal static class Texts
{
    private static readonly string[] s_sentences =
    [
        "Bonjour, je voudrais un café s'il vous plaît",
        "Guten Morgen, wie geht es dir heute?",
        "The weather is lovely this afternoon",
        "Buenos días, ¿cómo estás?",
        "Buongiorno, vorrei un caffè per favore",
        "Bom dia, tudo bem com você?",
        "Goedemorgen, hoe gaat het met je?",
        "God morgon, hur mår du idag?",
    ];

    public static string[] Take(int count, int offset = 0) =>
        Enumerable.Range(offset, count).Select(i => s_sentences[i % s_sentences.Length]).ToArray();

    /// <summary>BYTES elements in the binary layout: a 4-byte little-endian length, then the bytes.</summary>
    public static byte[] BinaryBytes(string[] texts)
    {
        var buffer = new MemoryStream();
        Span<byte> length = stackalloc byte[4];
        foreach (string text in texts)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)utf8.Length);
            buffer.Write(length);
            buffer.Write(utf8);
        }

        return buffer.ToArray();
    }
}
