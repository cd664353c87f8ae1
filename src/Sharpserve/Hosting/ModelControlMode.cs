namespace Sharpserve.Hosting;

/// <summary>Whether the repository API may load and unload models (<c>--model-control</c>, as Triton's <c>--model-control-mode</c>).</summary>
public enum ModelControlMode
{
    /// <summary>The models read at start are served until the server stops; load and unload are refused.</summary>
    None,

    /// <summary>Load and unload through <c>POST /v2/repository/models/NAME/load|unload</c>, with the admin token, from this machine.</summary>
    Explicit,
}
