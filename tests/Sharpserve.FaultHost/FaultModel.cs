using System.Globalization;
using System.Text;
using Sharpserve.Abstractions;
using Sharpserve.Testing;

namespace Sharpserve.FaultHost;

/// <summary>A worker's model with the faults of <see cref="WorkerFaults"/>: everything else is the real model's.</summary>
internal sealed class FaultModel(IModel inner) : IModel
{
    private static readonly List<byte[]> s_leaked = [];

    public ModelMetadata Metadata => inner.Metadata;

    public IReadOnlyList<InferenceRequest> WarmupRequests => inner.WarmupRequests;

    public long MappedBytes => inner.MappedBytes;

    public IModelSession CreateSession()
    {
        if (Environment.GetEnvironmentVariable(WorkerFaults.DieAtStartVariable) == "1")
        {
            Console.Error.WriteLine("test fault injected: die at start");
            Environment.Exit(3);
        }

        if (int.TryParse(Environment.GetEnvironmentVariable(WorkerFaults.ReadyDelayVariable), NumberStyles.None, CultureInfo.InvariantCulture, out int ms) && ms > 0)
        {
            Thread.Sleep(ms); // a model that is slow to load
        }

        return new FaultSession(inner.CreateSession());
    }

    public void Dispose() => inner.Dispose();

    private sealed class FaultSession(IModelSession inner) : IModelSession
    {
        public InferResult Infer(InferenceRequest request)
        {
            switch (Find(request))
            {
                case WorkerFaults.Hang:
                    Thread.Sleep(Timeout.Infinite);
                    break;
                case WorkerFaults.Crash:
                    System.Diagnostics.Process.GetCurrentProcess().Kill(); // SIGKILL, as a native crash would end it
                    break;
                case WorkerFaults.Slow:
                    WaitSlow();
                    break;
                case WorkerFaults.Grow:
                    Leak();
                    break;
            }

            return inner.Infer(request);
        }

        public void Dispose() => inner.Dispose();

        private static string? Find(InferenceRequest request)
        {
            if (request.Inputs.Count == 0 || request.Inputs[0].BytesData is not { Length: > 0 } texts)
            {
                return null;
            }

            string first = Encoding.UTF8.GetString(texts[0]);
            if (first is not (WorkerFaults.Hang or WorkerFaults.Crash or WorkerFaults.Slow or WorkerFaults.Grow) || !ClaimOnce())
            {
                return null;
            }

            Console.Error.WriteLine($"test fault injected: {first}");
            return first;
        }

        /// <summary>Until the release file exists, or one second without one.</summary>
        private static void WaitSlow()
        {
            string? release = Environment.GetEnvironmentVariable(WorkerFaults.ReleaseVariable);
            if (string.IsNullOrEmpty(release))
            {
                Thread.Sleep(TimeSpan.FromSeconds(1));
                return;
            }

            while (!File.Exists(release))
            {
                Thread.Sleep(20);
            }
        }

        /// <summary>Takes 256 MiB of anonymous memory, touching every page so it is resident, and never frees it.</summary>
        private static void Leak()
        {
            for (int i = 0; i < 16; i++)
            {
                byte[] block = GC.AllocateUninitializedArray<byte>(16 << 20, pinned: true);
                for (int page = 0; page < block.Length; page += 4096)
                {
                    block[page] = 1;
                }

                lock (s_leaked)
                {
                    s_leaked.Add(block);
                }
            }
        }

        private static bool ClaimOnce()
        {
            string? path = Environment.GetEnvironmentVariable(WorkerFaults.OnceVariable);
            if (string.IsNullOrEmpty(path))
            {
                return true;
            }

            try
            {
                using (File.Open(path, FileMode.CreateNew))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                return false; // another worker took it
            }
        }
    }
}
