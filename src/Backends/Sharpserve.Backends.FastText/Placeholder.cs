namespace Sharpserve.Backends.FastText;

internal static class Placeholder
{
}
