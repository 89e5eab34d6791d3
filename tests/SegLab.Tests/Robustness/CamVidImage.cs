// Loads one CamVid val image and its label from the shared data folder for the real-model robustness tests.
using SegLab.Imaging;

namespace SegLab.Tests.Robustness;

/// <summary>One CamVid image as planar RGB in [0, 1] and its label ids (11 = void).</summary>
internal static class CamVidImage
{
    /// <summary>Planar RGB, label ids, height, width; skips the calling test when the shared data is absent.</summary>
    public static (float[] Rgb, int[] Label, int H, int W) Load(string split, string id)
    {
        var shared = TestPaths.RequireShared($"CamVid {split} image {id}");
        var img = Path.Combine(shared, "data", "camvid", split, id + ".png");
        var lab = Path.Combine(shared, "data", "camvid", split + "annot", id + ".png");
        var rgb = Png.Load(img);
        var l = Png.Load(lab);
        int h = rgb.Height, w = rgb.Width, hw = h * w;
        var x = new float[3 * hw];
        for (int i = 0; i < hw; i++)
            for (int c = 0; c < 3; c++)
                x[c * hw + i] = rgb.Pixels[i * rgb.Channels + c] / 255f;
        var y = new int[hw];
        for (int i = 0; i < hw; i++) y[i] = l.Pixels[i * l.Channels];
        return (x, y, h, w);
    }
}
