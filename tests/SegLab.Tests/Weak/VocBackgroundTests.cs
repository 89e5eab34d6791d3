// Tests of VOC-style background in the weak pipeline: a dataset whose class 0 is named "background" gets the
// background score's pixels as class 0 in the CAM and refined masks (scored as a class, every pixel covered) and never
// has background as a tag; a dataset without one (CamVid) keeps them as the ignore id. Whole-image tags of a folder
// dataset come from its label files.
using SegLab.Data;
using SegLab.Engine;
using SegLab.Engine.Nn;
using SegLab.Imaging;
using SegLab.Models;
using SegLab.Tests.Data;
using SegLab.Tests.Training;
using SegLab.Weak;

namespace SegLab.Tests.Weak;

public sealed class VocBackgroundTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "seglab-vocbg-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static TagClassifier Model(int classes, long seed = 1)
    {
        var rng = new Rng(seed);
        var encoder = new Sequential(new Conv2d(3, 8, 3, stride: 2, padding: 1, rng: rng), Activation.ReLU(), new Conv2d(8, 6, 3, padding: 1, rng: rng));
        return new TagClassifier(encoder, 6, classes, Preprocessing.Identity, "test", rng);
    }

    [Fact]
    public void Voc_has_background_class_zero_and_camvid_has_none()
    {
        Assert.Equal(0, ClassMapLabels.BackgroundClass(ClassTable.Voc));
        Assert.Equal(0, ClassMapLabels.BackgroundLabel(ClassTable.Voc));
        Assert.Null(ClassMapLabels.BackgroundClass(ClassTable.CamVid));
        Assert.Equal(ClassTable.CamVid.IgnoreIndex, ClassMapLabels.BackgroundLabel(ClassTable.CamVid));
        Assert.Equal(0, ClassMapLabels.BackgroundClass(new SyntheticDataset(1, 8, 1, voc: true).Classes));
        Assert.Null(ClassMapLabels.BackgroundClass(new SyntheticDataset(1, 8, 1).Classes));
    }

    [Fact]
    public void Whole_image_tags_of_a_folder_dataset_leave_out_background_and_void()
    {
        using var dir = new TempDir();
        // image a: background, aeroplane (1) on 3 px, bicycle (2) on 1 px, void; image b: background and void only
        int[] a = [0, 0, 1, 1, 1, 2, 255, 0, 0], b = [0, 255, 0, 0, 0, 0, 0, 0, 0];
        foreach (var (stem, label) in new[] { ("a", a), ("b", b) })
        {
            Png.Save(dir.File($"{stem}_image.png"), DatasetLayoutTests.RgbImage(3, 3, 1));
            Png.Save(dir.File($"{stem}_target.png"), DatasetLayoutTests.GreyLabel(3, 3, i => label[i]));
        }
        var voc = Datasets.Open(dir.Path, "train", "folder", "voc");
        var tags = ImageTags.Of(voc, TagOptions.WholeImage());
        Assert.Equal(["a", "b"], tags.Select(t => t.ImageId));
        Assert.Equal([1, 2], tags[0].Tags);
        Assert.Empty(tags[1].Tags);
        Assert.Equal([1], ImageTags.Of(voc, TagOptions.WholeImage(2))[0].Tags);
        var stats = ImageTags.Statistics(tags, voc.Classes.Count);
        Assert.Equal((2, 0, 1, 1), (stats.Crops, stats.PerClass[0], stats.PerClass[1], stats.Empty));
        // the same files under a table whose class 0 is not named background: class 0 is a tag like any other
        string json = Path.Combine(_root, "classes.json");
        Directory.CreateDirectory(_root);
        File.WriteAllText(json, """{ "name": "toy", "ignoreIndex": 255, "classes": [ { "name": "bg", "color": [0,0,0] }, { "name": "a", "color": [255,0,0] }, { "name": "b", "color": [0,255,0] } ] }""");
        var plain = Datasets.Open(dir.Path, "train", "folder", json);
        Assert.Null(ClassMapLabels.BackgroundClass(plain.Classes));
        var plainTags = ImageTags.Of(plain, TagOptions.WholeImage());
        Assert.Equal([0, 1, 2], plainTags[0].Tags);
        Assert.Equal([0], plainTags[1].Tags);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Cam_masks_give_background_pixels_class_zero_with_a_background_class_and_ignore_without(bool voc)
    {
        var data = new SyntheticDataset(3, 32, 7, classes: 3, voc: voc);
        string cams = Path.Combine(_root, "cams");
        // a high constant so that every image has pixels on both sides of it
        var r = CamRun.Run(Model(3), data.Classes.Names, data, cams, new CamRunOptions { Cam = new CamOptions { Scales = [1.0] }, Background = BackgroundRule.Constant(0.5) });
        byte ignore = (byte)data.Classes.IgnoreIndex;
        for (int i = 0; i < data.Count; i++)
        {
            var s = data.Load(i);
            var tags = CamRun.ReadCamFile(Path.Combine(cams, s.Id + ".safetensors"), data.Classes.Names, s.Height, s.Width).Tags;
            Assert.Equal(voc, !tags.Contains(0));
            var px = Png.Load(Path.Combine(cams, s.Id + ".png")).Pixels;
            if (voc)
            {
                Assert.DoesNotContain(ignore, px);
                Assert.Contains((byte)0, px);
            }
            else Assert.Contains(ignore, px);
            Assert.All(px, v => Assert.True(v == (voc ? 0 : ignore) || tags.Contains(v), $"{s.Id}: {v} is neither background nor a tag"));
        }
        Assert.Equal(voc ? "background" : null, r.BackgroundClass);
        if (voc)
        {
            Assert.Equal(100, r.Coverage, 9);
            Assert.False(double.IsNaN(r.PerClassConfidentIoU![0]), "background is scored as a class");
        }
        else Assert.True(r.Coverage < 100, $"coverage {r.Coverage}: unsure pixels are left out");
    }

    [Theory]
    [InlineData(RefineMethod.CrfPsa)]
    [InlineData(RefineMethod.CrfIrn)]
    [InlineData(RefineMethod.RandomWalk)]
    public void Refined_masks_give_background_pixels_class_zero_with_a_background_class(RefineMethod method)
    {
        var data = new SyntheticDataset(3, 32, 7, classes: 3, voc: true);
        var model = Model(3);
        string cams = Path.Combine(_root, "cams"), outDir = Path.Combine(_root, "ref");
        CamRun.Run(model, data.Classes.Names, data, cams, new CamRunOptions { Cam = new CamOptions { Scales = [1.0] } });
        // constants that make the background win somewhere (PSA's probability CRF needs a strong one)
        var options = new RefineOptions { Method = method, Background = BackgroundRule.Constant(method == RefineMethod.CrfPsa ? 0.9 : 0.5), Walk = new RandomWalkOptions { Beta = 10, LogT = 3 }, Radius = 2 };
        var r = CamRefine.Run(cams, data, model, outDir, options);
        Assert.Equal("background", r.BackgroundClass);
        Assert.Equal(100, r.Scores.Coverage, 9);
        bool someBackground = false;
        for (int i = 0; i < data.Count; i++)
        {
            var s = data.Load(i);
            var tags = CamRun.ReadCamFile(Path.Combine(cams, s.Id + ".safetensors"), data.Classes.Names, s.Height, s.Width).Tags;
            var px = Png.Load(Path.Combine(outDir, s.Id + ".png")).Pixels;
            Assert.DoesNotContain((byte)data.Classes.IgnoreIndex, px);
            Assert.All(px, v => Assert.True(v == 0 || tags.Contains(v), $"{s.Id}: {v} is neither background nor a tag"));
            someBackground |= px.Contains((byte)0);
        }
        Assert.True(someBackground, "the background score should win somewhere at 0.5, or the test proves nothing");
        Assert.False(double.IsNaN(r.Scores.PerClassConfidentIoU![0]));
    }
}
