using System.Text.Json;
using Sharpserve.Cli;
using Sharpserve.Core.Batching;

namespace Sharpserve.Hosting;

/// <summary>
/// A model's batching settings in its config.json, in Triton's spirit: <c>"max_batch_size": 8</c> (0 or 1: off) and
/// <c>"dynamic_batching": {"max_queue_delay": "2ms", "preferred_batch_size": [4, 8]}</c>.
/// </summary>
internal sealed partial class ModelRepository
{
    /// <summary>The largest max_batch_size (and --max-batch-size): beyond it a batch's tensors outgrow any request limit.</summary>
    public const int MaxBatchSizeLimit = 4096;

    /// <summary>A model's own batching: its size limit, its delay (null: the server's --batch-delay) and preferred sizes.</summary>
    public sealed record BatchingConfig(int MaxBatchSize, TimeSpan? MaxQueueDelay, IReadOnlyList<int> PreferredBatchSizes)
    {
        /// <summary>The options it serves with, the server's delay filling in a delay it does not give.</summary>
        public BatchingOptions Resolve(TimeSpan serverDelay) => new()
        {
            MaxBatchSize = Math.Max(1, MaxBatchSize),
            MaxQueueDelay = MaxQueueDelay ?? serverDelay,
            PreferredBatchSizes = PreferredBatchSizes,
        };
    }

    private int? ReadMaxBatchSize(JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int size) && size >= 0 && size <= MaxBatchSizeLimit)
        {
            return size;
        }

        _problems.Add($"{path}: max_batch_size must be an integer from 0 to {MaxBatchSizeLimit} (0 or 1: no batching), got {Kind(value)}");
        return null;
    }

    private BatchingConfig? ReadBatching(int? maxBatchSize, JsonElement? dynamicBatching, string path)
    {
        if (dynamicBatching is not { } dynamic)
        {
            return maxBatchSize is { } size ? new BatchingConfig(size, null, []) : null;
        }

        if (dynamic.ValueKind != JsonValueKind.Object)
        {
            _problems.Add($"{path}: dynamic_batching must be an object such as {{\"max_queue_delay\": \"2ms\", \"preferred_batch_size\": [4, 8]}}, got {Kind(dynamic)}");
            return null;
        }

        if (maxBatchSize is not > 1)
        {
            _problems.Add($"{path}: dynamic_batching needs \"max_batch_size\" of 2 or more, got {(maxBatchSize is { } given ? given.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}");
            return null;
        }

        TimeSpan? delay = null;
        var preferred = new List<int>();
        foreach (JsonProperty field in Fields(dynamic, path, "dynamic_batching.", ["max_queue_delay", "preferred_batch_size"]))
        {
            if (field.Name == "max_queue_delay")
            {
                if (field.Value.ValueKind == JsonValueKind.String && HumanValues.TryParseDuration(field.Value.GetString()!, out TimeSpan parsed))
                {
                    delay = parsed;
                }
                else
                {
                    _problems.Add($"{path}: dynamic_batching.max_queue_delay must be a duration string such as \"2ms\" or \"0.5ms\", got {Kind(field.Value)}");
                }

                continue;
            }

            if (field.Value.ValueKind != JsonValueKind.Array)
            {
                _problems.Add($"{path}: dynamic_batching.preferred_batch_size must be an array of batch sizes such as [4, 8], got {Kind(field.Value)}");
                continue;
            }

            foreach (JsonElement element in field.Value.EnumerateArray())
            {
                if (element.ValueKind != JsonValueKind.Number || !element.TryGetInt32(out int size) || size < 1 || size > maxBatchSize)
                {
                    _problems.Add($"{path}: dynamic_batching.preferred_batch_size must hold sizes from 1 to max_batch_size {maxBatchSize}, got {element.GetRawText()}");
                    return null;
                }

                if (!preferred.Contains(size))
                {
                    preferred.Add(size);
                }
            }
        }

        preferred.Sort();
        return new BatchingConfig(maxBatchSize.Value, delay, preferred);
    }
}
