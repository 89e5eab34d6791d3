// The common error of every image codec (PNG, JPEG, PNM) and of ImageIO: malformed, truncated or unsupported data,
// or a missing native decoder. An IOException, so the CLI prints it as one clean line; the message names the file.
namespace SegLab.Imaging;

/// <summary>An image file (or byte buffer) that cannot be read or decoded; the message names the source and the problem.</summary>
public class ImageException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ImageException() : base("Invalid image data.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    public ImageException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    /// <param name="innerException">The underlying error.</param>
    public ImageException(string message, Exception innerException) : base(message, innerException) { }
}
