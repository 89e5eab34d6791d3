// One error that lists everything wrong between a model and a state dict, so a user fixes it in one pass.
using System.Text;

namespace SegLab.Engine.Nn;

/// <summary>A state dict does not fit a module: missing, unexpected and shape-mismatched keys, all listed.</summary>
public sealed class StateDictException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="source">File or origin of the state dict, if known.</param>
    /// <param name="model">Model type name.</param>
    /// <param name="missing">Keys the model has and the state lacks.</param>
    /// <param name="unexpected">Keys the state has and the model lacks.</param>
    /// <param name="mismatched">"key: model [..], file [..]" lines.</param>
    public StateDictException(string? source, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
        : base(Format(source, model, missing, unexpected, mismatched))
    {
        Missing = missing;
        Unexpected = unexpected;
        Mismatched = mismatched;
    }

    /// <summary>Creates the exception with a message.</summary>
    public StateDictException() : this(null, "model", [], [], []) { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public StateDictException(string message) : base(message)
    {
        Missing = Unexpected = Mismatched = [];
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The cause.</param>
    public StateDictException(string message, Exception inner) : base(message, inner)
    {
        Missing = Unexpected = Mismatched = [];
    }

    /// <summary>Keys the model has and the state lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the state has and the model lacks.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present in both with different shapes.</summary>
    public IReadOnlyList<string> Mismatched { get; }

    private static string Format(string? source, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
    {
        var sb = new StringBuilder();
        sb.Append("State dict").Append(source is null ? "" : $" from '{source}'").Append(" does not fit ").Append(model).Append(':');
        void List(string title, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            sb.Append("\n  ").Append(items.Count).Append(' ').Append(title).Append(": ");
            sb.Append(string.Join(", ", items.Take(20)));
            if (items.Count > 20) sb.Append(", ... (").Append(items.Count - 20).Append(" more)");
        }
        List("missing", missing);
        List("unexpected", unexpected);
        List("shape mismatches", mismatched);
        return sb.ToString();
    }
}
