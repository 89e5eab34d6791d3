// The one way SegLab writes a file: into a temporary file beside the target, flushed to disk, then renamed over
// it, so that a crash or a kill at any moment leaves either the old file or the new one whole, never half a file.
// Checkpoints, weights, images, metrics and reports all go through here. A temporary file left by a killed
// process is removed by the next write of the same file.
using System.Text;

namespace SegLab.Engine.IO;

/// <summary>Atomic file writes (temporary file, flush, rename).</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="bytes">The whole content.</param>
    public static void Write(string path, ReadOnlySpan<byte> bytes)
    {
        var copy = bytes.ToArray();
        Write(path, stream => stream.Write(copy));
    }

    /// <summary>Writes UTF-8 text (no byte-order mark) to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="text">The whole content.</param>
    public static void WriteText(string path, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Write(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text));
    }

    /// <summary>Streams content into <paramref name="path"/> atomically: <paramref name="write"/> fills a temporary file.</summary>
    /// <param name="path">The destination; its folder must exist.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"Cannot write '{path}': it has no folder.", nameof(path));
        RemoveLeftovers(dir, Path.GetFileName(full));
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        int number = FaultInjection.Next();
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                FaultInjection.InWrite(number, full);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        FaultInjection.AfterWrite(number);
    }

    // A process killed inside a write leaves its temporary file; the next write of the same file removes it. (Two
    // processes writing one file at once is not supported: the later rename wins, and so it would without this.)
    private static void RemoveLeftovers(string dir, string name)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var stale in Directory.EnumerateFiles(dir, $".{name}.*.tmp"))
        {
            try { File.Delete(stale); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
