// A decoded raster image: interleaved 8-bit samples (plus the raw 16-bit samples of 16-bit sources) or, for
// palette images, one palette index per pixel with the palette beside it. Produced and consumed by Png.
namespace SegLab.Imaging;

/// <summary>
/// A raster image with interleaved, row-major samples. <see cref="Pixels"/> always holds 8-bit samples
/// (16-bit sources scaled by &gt;&gt; 8, grey sources of 1, 2 or 4 bits scaled to 0..255 as the PNG specification
/// says); <see cref="Pixels16"/> holds the raw samples of 16-bit sources. A palette image has one channel of palette
/// indices and a non-null <see cref="Palette"/>.
/// </summary>
public sealed class Image
{
    /// <summary>Creates an image, checking that the buffers match the size.</summary>
    /// <param name="width">Width in pixels (positive).</param>
    /// <param name="height">Height in pixels (positive).</param>
    /// <param name="channels">1 grey (or palette index), 2 grey + alpha, 3 RGB, 4 RGBA.</param>
    /// <param name="pixels">width * height * channels 8-bit samples, interleaved, row-major.</param>
    /// <param name="bitDepth">Bit depth of the source (1, 2, 4, 8 or 16); 16 requires <paramref name="pixels16"/>.</param>
    /// <param name="pixels16">The raw 16-bit samples when the source was 16-bit, else null.</param>
    /// <param name="palette">RGB triples of a palette image (1 to 256 entries), else null.</param>
    /// <param name="paletteAlpha">Alpha of the first palette entries (from tRNS; missing entries are opaque), or null.</param>
    public Image(int width, int height, int channels, byte[] pixels, int bitDepth = 8, ushort[]? pixels16 = null, byte[]? palette = null, byte[]? paletteAlpha = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0 || height <= 0) throw new ArgumentException($"Image: size {width}x{height} must be positive.");
        if (channels is < 1 or > 4) throw new ArgumentException($"Image: {channels} channels; expected 1 to 4.");
        if (bitDepth is not (1 or 2 or 4 or 8 or 16)) throw new ArgumentException($"Image: bit depth {bitDepth}; expected 1, 2, 4, 8 or 16.");
        long count = (long)width * height * channels;
        if (pixels.LongLength != count) throw new ArgumentException($"Image: {pixels.LongLength} samples for {width}x{height}x{channels}; expected {count}.");
        if (pixels16 is not null && pixels16.LongLength != count) throw new ArgumentException($"Image: {pixels16.LongLength} 16-bit samples for {width}x{height}x{channels}; expected {count}.");
        if ((bitDepth == 16) != (pixels16 is not null)) throw new ArgumentException("Image: 16-bit samples are given exactly when the bit depth is 16.");
        if (palette is not null)
        {
            if (channels != 1) throw new ArgumentException("Image: a palette image has one channel (the indices).");
            if (palette.Length == 0 || palette.Length % 3 != 0 || palette.Length > 256 * 3) throw new ArgumentException($"Image: palette of {palette.Length} bytes; expected 1 to 256 RGB triples.");
            if (bitDepth == 16) throw new ArgumentException("Image: a palette image cannot be 16-bit.");
            if (paletteAlpha is not null && paletteAlpha.Length > palette.Length / 3) throw new ArgumentException($"Image: {paletteAlpha.Length} palette alphas for {palette.Length / 3} entries.");
            int entries = palette.Length / 3;
            for (int i = 0; i < pixels.Length; i++)
                if (pixels[i] >= entries) throw new ArgumentException($"Image: palette index {pixels[i]} at sample {i} is out of range (palette has {entries} entries).");
        }
        else if (paletteAlpha is not null) throw new ArgumentException("Image: palette alphas without a palette.");
        Width = width;
        Height = height;
        Channels = channels;
        BitDepth = bitDepth;
        Pixels = pixels;
        Pixels16 = pixels16;
        Palette = palette;
        PaletteAlpha = paletteAlpha;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Samples per pixel: 1 grey or palette index, 2 grey + alpha, 3 RGB, 4 RGBA.</summary>
    public int Channels { get; }

    /// <summary>Bit depth of the source (1, 2, 4, 8 or 16).</summary>
    public int BitDepth { get; }

    /// <summary>8-bit samples (palette indices for palette images), interleaved, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>The raw 16-bit samples when <see cref="BitDepth"/> is 16, else null.</summary>
    public ushort[]? Pixels16 { get; }

    /// <summary>RGB triples of the palette, or null when this is not a palette image.</summary>
    public byte[]? Palette { get; }

    /// <summary>Alpha of the first palette entries (later entries are opaque), or null.</summary>
    public byte[]? PaletteAlpha { get; }

    /// <summary>Whether the pixels are palette indices.</summary>
    public bool IsPalette => Palette is not null;

    /// <summary>Number of palette entries (0 when not a palette image).</summary>
    public int PaletteCount => Palette is null ? 0 : Palette.Length / 3;

    /// <summary>Sample of channel <paramref name="c"/> of pixel (<paramref name="x"/>, <paramref name="y"/>).</summary>
    /// <param name="x">Column.</param>
    /// <param name="y">Row.</param>
    /// <param name="c">Channel.</param>
    public byte this[int x, int y, int c = 0] => Pixels[((long)y * Width + x) * Channels + c];

    /// <summary>
    /// The colours of a palette image: RGB, or RGBA when <paramref name="withAlpha"/> is true (or when the
    /// palette has alphas and <paramref name="withAlpha"/> is null). Returns this image when it is not a palette image.
    /// </summary>
    /// <param name="withAlpha">Whether to add an alpha channel; null: when the palette has alphas.</param>
    public Image ExpandPalette(bool? withAlpha = null)
    {
        if (Palette is null) return this;
        bool alpha = withAlpha ?? PaletteAlpha is not null;
        int channels = alpha ? 4 : 3;
        var rgb = new byte[Pixels.LongLength * channels];
        for (long i = 0, o = 0; i < Pixels.LongLength; i++, o += channels)
        {
            int p = Pixels[i];
            rgb[o] = Palette[3 * p];
            rgb[o + 1] = Palette[3 * p + 1];
            rgb[o + 2] = Palette[3 * p + 2];
            if (alpha) rgb[o + 3] = PaletteAlpha is not null && p < PaletteAlpha.Length ? PaletteAlpha[p] : (byte)255;
        }
        return new Image(Width, Height, channels, rgb);
    }
}
