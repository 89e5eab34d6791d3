// JPEG decoding through libturbojpeg (the TurboJPEG C API of libjpeg-turbo) by P/Invoke: grey JPEGs give one
// channel, every other colour space RGB. Warnings (e.g. a truncated scan) count as errors: a damaged file is never
// returned as a silently grey-filled image. An internal encoder exists for tests.
namespace SegLab.Imaging;

/// <summary>Decodes JPEG images with libturbojpeg when it is installed.</summary>
public static class Jpeg
{
    /// <summary>Largest accepted width or height.</summary>
    public const int MaxDimension = 1 << 15;

    /// <summary>Largest accepted number of pixels (width * height), so that a damaged header cannot demand gigabytes.</summary>
    public const long MaxPixels = 1L << 26;

    /// <summary>Whether libturbojpeg could be loaded on this machine.</summary>
    public static bool IsAvailable => JpegNative.Instance is not null;

    /// <summary>Reads and decodes a JPEG file.</summary>
    /// <param name="path">The file.</param>
    /// <exception cref="ImageException">The file is not a valid JPEG, or libturbojpeg is missing.</exception>
    public static Image Load(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Decodes a JPEG held in memory to 8-bit grey (grey JPEGs) or RGB (all others).</summary>
    /// <param name="data">The whole file.</param>
    /// <param name="name">Name used in error messages (default "&lt;bytes&gt;").</param>
    /// <exception cref="ImageException">The data is not a valid JPEG, or libturbojpeg is missing.</exception>
    public static unsafe Image Decode(ReadOnlySpan<byte> data, string? name = null)
    {
        name ??= "<bytes>";
        var tj = JpegNative.Require(name);
        if (data.Length < 4 || data[0] != 0xFF || data[1] != 0xD8) throw new ImageException($"JPEG {name}: not a JPEG file (no SOI marker).");
        nint handle = tj.InitDecompress();
        if (handle == 0) throw new ImageException($"JPEG {name}: libturbojpeg could not create a decompressor.");
        try
        {
            fixed (byte* src = data)
            {
                var size = new System.Runtime.InteropServices.CULong((nuint)data.Length);
                int width, height, subsampling, colorspace;
                if (tj.DecompressHeader3(handle, src, size, &width, &height, &subsampling, &colorspace) != 0)
                    throw new ImageException($"JPEG {name}: bad header ({tj.Error(handle)}).");
                if (width <= 0 || height <= 0 || width > MaxDimension || height > MaxDimension)
                    throw new ImageException($"JPEG {name}: size {width}x{height} is outside 1..{MaxDimension}.");
                if ((long)width * height > MaxPixels) throw new ImageException($"JPEG {name}: {width}x{height} exceeds the limit of {MaxPixels} pixels.");
                bool grey = colorspace == JpegNative.ColorspaceGray;
                int channels = grey ? 1 : 3;
                var pixels = new byte[(long)width * height * channels];
                fixed (byte* dst = pixels)
                {
                    int format = grey ? JpegNative.PixelFormatGray : JpegNative.PixelFormatRgb;
                    if (tj.Decompress2(handle, src, size, dst, width, width * channels, height, format, JpegNative.FlagAccurateDct) != 0)
                        throw new ImageException($"JPEG {name}: cannot decode ({tj.Error(handle)}).");
                }
                return new Image(width, height, channels, pixels);
            }
        }
        finally
        {
            tj.Destroy(handle);
        }
    }

    /// <summary>Encodes an 8-bit grey or RGB image as a baseline JPEG (used by tests to make JPEGs).</summary>
    /// <param name="image">A 1- or 3-channel 8-bit image.</param>
    /// <param name="quality">JPEG quality 1..100.</param>
    /// <param name="subsampling">TJSAMP: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0 (ignored for grey).</param>
    internal static unsafe byte[] Encode(Image image, int quality = 95, int subsampling = 0)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels is not (1 or 3) || image.IsPalette) throw new ArgumentException("JPEG: only grey or RGB images can be encoded.", nameof(image));
        var tj = JpegNative.Require("<encoder>");
        nint handle = tj.InitCompress();
        if (handle == 0) throw new ImageException("JPEG: libturbojpeg could not create a compressor.");
        byte* output = null;
        try
        {
            var size = new System.Runtime.InteropServices.CULong(0);
            bool grey = image.Channels == 1;
            fixed (byte* src = image.Pixels)
            {
                int format = grey ? JpegNative.PixelFormatGray : JpegNative.PixelFormatRgb;
                if (tj.Compress2(handle, src, image.Width, image.Width * image.Channels, image.Height, format, &output, &size, grey ? 3 : subsampling, quality, JpegNative.FlagAccurateDct) != 0)
                    throw new ImageException($"JPEG: cannot encode ({tj.Error(handle)}).");
            }
            return new ReadOnlySpan<byte>(output, checked((int)size.Value)).ToArray();
        }
        finally
        {
            if (output is not null) tj.Free(output);
            tj.Destroy(handle);
        }
    }
}
