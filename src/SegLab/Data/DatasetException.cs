// The one error of datasets and loaders: a missing folder, an empty split, an unpaired or undecodable file, a label
// of the wrong size or with values outside the class table. An IOException whose message names the file and problem.
namespace SegLab.Data;

/// <summary>A dataset input that cannot be used; the message names the file and what is wrong.</summary>
public class DatasetException : IOException
{
    /// <summary>Creates the exception with a default message.</summary>
    public DatasetException() : base("Invalid dataset.") { }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    public DatasetException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    /// <param name="innerException">The underlying error.</param>
    public DatasetException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception for one file.</summary>
    /// <param name="message">What is wrong, naming the file.</param>
    /// <param name="filePath">The file (or folder) at fault.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public DatasetException(string message, string? filePath, Exception? innerException = null) : base(message, innerException)
    {
        FilePath = filePath;
    }

    /// <summary>The file or folder at fault, when one is known.</summary>
    public string? FilePath { get; }
}
