// A contact sheet of the corruptions: one row per corruption (in ImageCorruptions.Names order), the original image then
// severities 1-5 across, each cell a box-downscaled thumbnail, on a white background. For looking at them (docs/corruptions.md).
namespace SegLab.Imaging.Corruptions;

/// <summary>Renders every corruption at every severity of one image as one RGB image.</summary>
public static class CorruptionGrid
{
    /// <summary>The grid as an 8-bit RGB image: rows = <paramref name="names"/>, columns = original, severity 1..5.</summary>
    /// <param name="image">Float RGB CHW in [0,1].</param>
    /// <param name="height">Image height.</param>
    /// <param name="width">Image width.</param>
    /// <param name="thumbWidth">Width of each cell in pixels (the height follows the aspect ratio).</param>
    /// <param name="seed">Seed of the random corruptions.</param>
    /// <param name="names">Corruptions to show (default all).</param>
    public static Image Render(ReadOnlySpan<float> image, int height, int width, int thumbWidth, ulong seed, IReadOnlyList<string>? names = null)
    {
        names ??= ImageCorruptions.Names;
        if (thumbWidth < 8) throw new ArgumentException($"CorruptionGrid: thumbnail width {thumbWidth} must be at least 8.", nameof(thumbWidth));
        int tw = Math.Min(thumbWidth, width), th = Math.Max(1, (int)Math.Round((double)height * tw / width));
        const int gap = 2;
        int cols = 1 + ImageCorruptions.MaxSeverity, rows = names.Count;
        int gw = cols * tw + (cols + 1) * gap, gh = rows * th + (rows + 1) * gap;
        var pixels = new byte[gw * gh * 3];
        Array.Fill(pixels, (byte)255);
        var original = image.ToArray();
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col++)
            {
                var cell = col == 0 ? original : ImageCorruptions.Apply(names[r], col, original, height, width, seed);
                Paste(pixels, gw, gap + col * (tw + gap), gap + r * (th + gap), cell, height, width, th, tw);
            }
        return new Image(gw, gh, 3, pixels);
    }

    private static void Paste(byte[] pixels, int gw, int x0, int y0, float[] cell, int h, int w, int th, int tw)
    {
        int plane = h * w;
        for (int c = 0; c < 3; c++)
        {
            var small = Filters.ResizeBox(cell.AsSpan(c * plane, plane), h, w, th, tw);
            for (int y = 0; y < th; y++)
                for (int x = 0; x < tw; x++)
                    pixels[((y0 + y) * gw + x0 + x) * 3 + c] = (byte)Math.Round(Math.Clamp(small[y * tw + x], 0f, 1f) * 255f);
        }
    }
}
