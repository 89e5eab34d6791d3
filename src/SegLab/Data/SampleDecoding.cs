// Turning decoded image files into sample buffers: any image to planar RGB floats in [0, 1], and a label image to
// class ids (grey and palette images hold ids directly, RGB images are decoded through the table's colour map),
// each label value checked against the class table with the file, the value and a pixel named on failure.
using SegLab.Imaging;

namespace SegLab.Data;

/// <summary>Decodes image and label files into <see cref="SegmentationSample"/> buffers.</summary>
public static class SampleDecoding
{
    /// <summary>Loads an image and, when given, its label, checking that they fit each other and the class table.</summary>
    /// <param name="id">Sample id.</param>
    /// <param name="imagePath">The image file.</param>
    /// <param name="labelPath">The label file, or null.</param>
    /// <param name="classes">The class table the label values must belong to.</param>
    /// <exception cref="DatasetException">A file cannot be decoded, the sizes differ, or a label value is invalid.</exception>
    public static SegmentationSample Load(string id, string imagePath, string? labelPath, ClassTable classes)
    {
        ArgumentNullException.ThrowIfNull(classes);
        var image = Read(imagePath, "image");
        int[]? label = null;
        if (labelPath is not null)
        {
            var labelImage = Read(labelPath, "label");
            if (labelImage.Width != image.Width || labelImage.Height != image.Height)
                throw new DatasetException($"Label {labelPath} is {labelImage.Width}x{labelImage.Height} but its image {imagePath} is {image.Width}x{image.Height}.", labelPath);
            label = LabelIds(labelImage, classes, labelPath);
        }
        return new SegmentationSample(id, imagePath, labelPath, image.Width, image.Height, PlanarRgb(image), label);
    }

    /// <summary>Planar RGB [3, H, W] in [0, 1]: grey is repeated, alpha dropped, palettes expanded, 16-bit samples kept at full precision.</summary>
    /// <param name="image">Any decoded image.</param>
    public static float[] PlanarRgb(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        image = image.ExpandPalette(withAlpha: false);
        int n = image.Width * image.Height, ch = image.Channels;
        bool colour = ch >= 3;
        var output = new float[3 * n];
        var p8 = image.Pixels;
        var p16 = image.Pixels16;
        for (int c = 0; c < 3; c++)
        {
            int src = colour ? c : 0;
            var plane = output.AsSpan(c * n, n);
            if (p16 is not null)
                for (int i = 0; i < n; i++) plane[i] = p16[i * ch + src] / 65535f;
            else
                for (int i = 0; i < n; i++) plane[i] = p8[i * ch + src] / 255f;
        }
        return output;
    }

    /// <summary>
    /// Class ids of a label image: palette indices or grey values (16-bit kept whole) are the ids; RGB(A) labels are
    /// decoded through <see cref="ClassTable.TryColourToId"/>. Every id must be a class or the ignore id.
    /// </summary>
    /// <param name="label">The decoded label image.</param>
    /// <param name="classes">The class table.</param>
    /// <param name="path">The label file, for messages.</param>
    /// <exception cref="DatasetException">An id outside the table or a colour outside the colour map.</exception>
    public static int[] LabelIds(Image label, ClassTable classes, string path)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(classes);
        int w = label.Width, n = w * label.Height, ch = label.Channels;
        var ids = new int[n];
        if (ch >= 3 && !label.IsPalette)
        {
            var px = label.Pixels;
            int lastKey = -1, lastId = 0;
            for (int i = 0; i < n; i++)
            {
                byte r = px[i * ch], g = px[i * ch + 1], b = px[i * ch + 2];
                int key = ClassTable.Key(r, g, b);
                if (key != lastKey)
                {
                    if (!classes.TryColourToId(r, g, b, out lastId))
                        throw new DatasetException($"Label {path}: colour ({r},{g},{b}) at pixel ({i % w},{i / w}) is neither a class colour nor a void colour of the '{classes.Name}' table.", path);
                    lastKey = key;
                }
                ids[i] = lastId;
            }
            return ids;
        }
        var p16 = label.Pixels16;
        for (int i = 0; i < n; i++) ids[i] = p16 is not null ? p16[i * ch] : label.Pixels[i * ch];
        for (int i = 0; i < n; i++)
            if (!classes.IsValidLabel(ids[i]))
                throw new DatasetException($"Label {path}: value {ids[i]} at pixel ({i % w},{i / w}) is neither a class id (0..{classes.Count - 1}) nor the ignore id {classes.IgnoreIndex} of the '{classes.Name}' table.", path);
        return ids;
    }

    private static Image Read(string path, string what)
    {
        try
        {
            return ImageIO.Load(path);
        }
        catch (ImageException e)
        {
            throw new DatasetException($"Cannot decode {what} {path}: {e.Message}", path, e);
        }
    }
}
