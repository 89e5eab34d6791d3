// The dataset abstraction every consumer (loader, evaluation, attacks, attribution) codes against: an ordered,
// indexable list of samples decoded on demand, with its class table.
namespace SegLab.Data;

/// <summary>An ordered list of segmentation samples, decoded on demand.</summary>
public interface ISegmentationDataset
{
    /// <summary>Short name of the dataset (e.g. "camvid").</summary>
    string Name { get; }

    /// <summary>The dataset's root folder.</summary>
    string Root { get; }

    /// <summary>The split (e.g. "val").</summary>
    string Split { get; }

    /// <summary>The classes of the labels.</summary>
    ClassTable Classes { get; }

    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>Id (file stem) of sample <paramref name="index"/>, without decoding it.</summary>
    /// <param name="index">0..Count-1.</param>
    string Id(int index);

    /// <summary>Decodes sample <paramref name="index"/>.</summary>
    /// <param name="index">0..Count-1.</param>
    /// <exception cref="DatasetException">The image or label cannot be decoded or does not fit; the message names the file.</exception>
    SegmentationSample Load(int index);

    /// <summary>The image and label paths of sample <paramref name="index"/>; datasets of files answer without decoding.</summary>
    /// <param name="index">0..Count-1.</param>
    (string Image, string? Label) Files(int index)
    {
        var s = Load(index);
        return (s.ImagePath, s.LabelPath);
    }
}
