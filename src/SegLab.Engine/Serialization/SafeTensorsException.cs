// The one error type of the safetensors reader and writer: names the file (or stream), the tensor where
// relevant, and the problem, so that a corrupt checkpoint is diagnosed from the message alone.
namespace SegLab.Engine.Serialization;

/// <summary>A safetensors file is malformed, or cannot be read or written by SegLab.</summary>
public sealed class SafeTensorsException : Exception
{
    /// <summary>Creates the exception for a problem in <paramref name="origin"/>, optionally in one tensor.</summary>
    /// <param name="origin">File path, or a description of the stream or buffer.</param>
    /// <param name="tensorName">The tensor concerned, or null for the file as a whole.</param>
    /// <param name="problem">What is wrong, as a sentence.</param>
    /// <param name="inner">The underlying cause, if any.</param>
    public SafeTensorsException(string origin, string? tensorName, string problem, Exception? inner = null)
        : base(Format(origin, tensorName, problem), inner)
    {
        Origin = origin;
        TensorName = tensorName;
        Problem = problem;
    }

    /// <summary>Creates the exception.</summary>
    public SafeTensorsException() : this("safetensors data is invalid.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">The message.</param>
    public SafeTensorsException(string message) : base(message)
    {
        Origin = "";
        Problem = message;
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="inner">The cause.</param>
    public SafeTensorsException(string message, Exception inner) : base(message, inner)
    {
        Origin = "";
        Problem = message;
    }

    /// <summary>File path, or a description of the stream or buffer ("" when constructed from a bare message).</summary>
    public string Origin { get; }

    /// <summary>The tensor concerned, or null.</summary>
    public string? TensorName { get; }

    /// <summary>The problem without the file and tensor prefix.</summary>
    public string Problem { get; }

    private static string Format(string origin, string? tensorName, string problem) =>
        tensorName is null
            ? $"safetensors '{origin}': {problem}"
            : $"safetensors '{origin}', tensor '{tensorName}': {problem}";
}
