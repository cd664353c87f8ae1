namespace Sharpserve.Microbenchmarks;

/// <summary>Where the model images are (`sharpserve prepare MODEL` prints the path); set by Program.</summary>
internal static class Inputs
{
    public static string DemoImage { get; set; } = "";

    public static string LargeImage { get; set; } = "";

    public static int RandomEntries { get; set; } = 5_000_000;
}
