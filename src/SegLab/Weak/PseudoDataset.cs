// The last step of the weak pipeline (PAPERS.md C.2 "final step"): a folder dataset whose train split holds the
// pseudo-masks (unsure pixels as the ignore id, which the trainer's loss skips) and whose val split holds the true
// val labels, so `seglab train --set data.dir=DIR` trains a segmenter on pseudo-masks and validates it honestly.
// Images and val labels are symbolic links to the originals (nothing large is copied); pseudo-masks are copied.
using SegLab.Data;
using SegLab.Engine.IO;

namespace SegLab.Weak;

/// <summary>Writes a train-on-pseudo-masks dataset folder.</summary>
public static class PseudoDataset
{
    /// <summary>
    /// DIR/train/{images,labels} from <paramref name="train"/>'s images and the masks of <paramref name="camDir"/>
    /// (ID.png, or ID.iseg.png when <paramref name="refined"/>), DIR/val/{images,labels} from <paramref name="val"/>, and
    /// DIR/classes.json. Returns the number of training images. A missing mask is an error naming the file.
    /// </summary>
    public static int Write(ISegmentationDataset train, string camDir, bool refined, ISegmentationDataset val, string outDir)
    {
        if (!Directory.Exists(camDir)) throw new DirectoryNotFoundException($"CAM folder '{camDir}' does not exist (run seglab weak cam first).");
        if (!val.Classes.Names.SequenceEqual(train.Classes.Names))
            throw new ArgumentException($"pseudo dataset: train classes [{string.Join(", ", train.Classes.Names)}] differ from val classes [{string.Join(", ", val.Classes.Names)}].");
        string suffix = refined ? ".iseg.png" : ".png";
        var masks = new List<(string Id, string Image, string Mask)>();
        for (int i = 0; i < train.Count; i++)
        {
            string id = train.Id(i), mask = Path.Combine(camDir, id + suffix);
            if (!File.Exists(mask)) throw new FileNotFoundException($"No pseudo-mask '{mask}' for training image {id}" + (refined ? " (was seglab weak cam run with --iseg?)." : "."), mask);
            masks.Add((id, train.Files(i).Image, mask));
        }
        foreach (var split in new[] { "train", "val" })
            foreach (var sub in new[] { "images", "labels" })
            {
                string d = Path.Combine(outDir, split, sub);
                if (Directory.Exists(d)) Directory.Delete(d, recursive: true);
                Directory.CreateDirectory(d);
            }
        foreach (var (id, image, mask) in masks)
        {
            Link(image, Path.Combine(outDir, "train", "images", id + Path.GetExtension(image)));
            AtomicFile.Write(Path.Combine(outDir, "train", "labels", id + ".png"), File.ReadAllBytes(mask));
        }
        for (int i = 0; i < val.Count; i++)
        {
            string id = val.Id(i);
            var (image, label) = val.Files(i);
            if (label is null) throw new DatasetException($"pseudo dataset: val sample {id} ({image}) has no label.");
            Link(image, Path.Combine(outDir, "val", "images", id + Path.GetExtension(image)));
            Link(label, Path.Combine(outDir, "val", "labels", id + Path.GetExtension(label)));
        }
        AtomicFile.WriteText(Path.Combine(outDir, "classes.json"), train.Classes.ToJson());
        return masks.Count;
    }

    private static void Link(string target, string path) => File.CreateSymbolicLink(path, Path.GetFullPath(target));
}
