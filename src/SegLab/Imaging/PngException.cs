// The one error type of the PNG decoder: malformed, truncated or unsupported data, named by file.
// Derives from ImageException (an IOException), the common error of all codecs.
namespace SegLab.Imaging;

/// <summary>A PNG file (or byte buffer) that cannot be decoded; the message names the source and the problem.</summary>
public sealed class PngException : ImageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public PngException() : base("Invalid PNG data.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    public PngException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    /// <param name="innerException">The underlying error (e.g. from the zlib stream).</param>
    public PngException(string message, Exception innerException) : base(message, innerException) { }
}
