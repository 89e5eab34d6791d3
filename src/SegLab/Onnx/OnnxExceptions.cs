// The two ways an ONNX file can fail to import: it is not a valid ONNX file (truncated, sizes that do not match the
// bytes present, external data outside the model's folder), or it is valid but uses an operation, attribute or
// operator set that SegLab does not run. Both derive from types the CLI reports as one-line errors.
namespace SegLab.Onnx;

/// <summary>An ONNX file that is malformed or inconsistent; the message names the file and the problem.</summary>
public sealed class OnnxFormatException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    public OnnxFormatException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    /// <param name="inner">The underlying error.</param>
    public OnnxFormatException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception without a message.</summary>
    public OnnxFormatException() { }
}

/// <summary>A valid ONNX model that uses an operation, attribute or opset SegLab cannot run; the message names the node.</summary>
public sealed class OnnxUnsupportedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">The node, its op, the opset and what is supported.</param>
    public OnnxUnsupportedException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">The node, its op, the opset and what is supported.</param>
    /// <param name="inner">The underlying error.</param>
    public OnnxUnsupportedException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates the exception without a message.</summary>
    public OnnxUnsupportedException() { }
}
