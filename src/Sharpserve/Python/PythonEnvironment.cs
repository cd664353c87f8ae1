namespace Sharpserve.Python;

/// <summary>
/// The environment a zygote starts with (docs/python-backend.md section 5): the Sharpserve package first on
/// PYTHONPATH, unbuffered output, and one thread per BLAS/OpenMP/tokenizer pool unless the user chose otherwise
/// (a pool started in the zygote would hang its forked children).
/// </summary>
internal static class PythonEnvironment
{
    private static readonly string[] s_singleThreaded = ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"];

    /// <summary>The folder holding the <c>sharpserve</c> Python package, shipped next to this executable.</summary>
    public static string PackageDirectory => Path.Combine(AppContext.BaseDirectory, "python");

    public static void Apply(IDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (string name in s_singleThreaded)
        {
            if (string.IsNullOrEmpty(environment.TryGetValue(name, out string? value) ? value : null))
            {
                environment[name] = "1";
            }
        }

        if (string.IsNullOrEmpty(environment.TryGetValue("TOKENIZERS_PARALLELISM", out string? tokenizers) ? tokenizers : null))
        {
            environment["TOKENIZERS_PARALLELISM"] = "false";
        }

        string? user = environment.TryGetValue("PYTHONPATH", out string? path) ? path : null;
        environment["PYTHONPATH"] = string.IsNullOrEmpty(user) ? PackageDirectory : $"{PackageDirectory}{Path.PathSeparator}{user}";
        environment["PYTHONUNBUFFERED"] = "1";
    }
}
