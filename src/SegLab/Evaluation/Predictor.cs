// seglab predict's library side: one image or a folder of images in; per image a label PNG (8-bit class ids, the
// class table's ignore id never predicted) and a colour overlay PNG out, both written atomically.
using SegLab.Data;
using SegLab.Imaging;
using SegLab.Models;
using SegLab.Reports;

namespace SegLab.Evaluation;

/// <summary>Files written for one predicted image.</summary>
/// <param name="Id">Image id (file stem).</param>
/// <param name="Source">The input image.</param>
/// <param name="Labels">Label PNG (class ids).</param>
/// <param name="Overlay">Colour overlay PNG.</param>
/// <param name="ClassPixels">Predicted pixels per class.</param>
public sealed record PredictionFiles(string Id, string Source, string Labels, string Overlay, long[] ClassPixels);

/// <summary>Predicts label maps for images on disk.</summary>
public static class Predictor
{
    /// <summary>The images to predict: <paramref name="input"/> itself, or the image files of a folder, sorted by name.</summary>
    /// <param name="input">An image file or a folder.</param>
    public static IReadOnlyList<string> Inputs(string input)
    {
        ArgumentException.ThrowIfNullOrEmpty(input);
        if (File.Exists(input)) return [Path.GetFullPath(input)];
        if (!Directory.Exists(input)) throw new DatasetException($"Input {input} is neither an image file nor a folder.", input);
        var files = Directory.EnumerateFiles(input)
            .Where(f => ImageIO.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
            throw new DatasetException($"Folder {input} has no image files ({string.Join(", ", ImageIO.Extensions)}).", input);
        return files;
    }

    /// <summary>Predicts one image and writes OUTDIR/ID.png (class ids) and OUTDIR/ID_overlay.png.</summary>
    /// <param name="model">The model.</param>
    /// <param name="classes">Its class table (colours of the overlay).</param>
    /// <param name="imagePath">The image.</param>
    /// <param name="outDir">Output folder (created).</param>
    /// <param name="alpha">Opacity of the class colours in the overlay.</param>
    public static PredictionFiles PredictFile(SegmentationModel model, ClassTable classes, string imagePath, string outDir, double alpha = 0.5)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(classes);
        if (model.NumClasses > 256) throw new ArgumentException($"Model '{model.Name}' has {model.NumClasses} classes; label PNGs hold at most 256.");
        string id = Path.GetFileNameWithoutExtension(imagePath);
        var sample = SampleDecoding.Load(id, imagePath, null, classes);
        var pred = Evaluator.Predict(model, sample);
        Directory.CreateDirectory(outDir);
        var ids = new byte[pred.Length];
        var counts = new long[model.NumClasses];
        for (int i = 0; i < pred.Length; i++)
        {
            ids[i] = (byte)pred[i];
            counts[pred[i]]++;
        }
        string labels = Path.Combine(outDir, id + ".png");
        string overlay = Path.Combine(outDir, id + "_overlay.png");
        Png.Save(labels, new Image(sample.Width, sample.Height, 1, ids));
        Png.Save(overlay, Overlay.Blend(sample.Image, pred, sample.Width, sample.Height, classes.PaletteRgb(), classes.IgnoreIndex, alpha).ToImage());
        return new PredictionFiles(id, imagePath, labels, overlay, counts);
    }
}
