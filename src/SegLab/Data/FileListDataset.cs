// A dataset given as an explicit list of (id, image file, label file): what every layout of Datasets.Open produces,
// and what a caller builds for files that follow no layout. Decoding is done by SampleDecoding on each Load.
namespace SegLab.Data;

/// <summary>A dataset given as a list of (id, image file, label file), decoded with <see cref="SampleDecoding"/>.</summary>
public sealed class FileListDataset : ISegmentationDataset
{
    private readonly (string Id, string Image, string? Label)[] _files;

    /// <summary>Creates the dataset.</summary>
    /// <param name="name">Dataset name.</param>
    /// <param name="root">Root folder.</param>
    /// <param name="split">Split name.</param>
    /// <param name="classes">The class table.</param>
    /// <param name="files">Samples in order: id, image path, label path (null: unlabelled).</param>
    public FileListDataset(string name, string root, string split, ClassTable classes, IEnumerable<(string Id, string Image, string? Label)> files)
    {
        Name = name;
        Root = root;
        Split = split;
        Classes = classes;
        _files = [.. files];
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Root { get; }

    /// <inheritdoc/>
    public string Split { get; }

    /// <inheritdoc/>
    public ClassTable Classes { get; }

    /// <inheritdoc/>
    public int Count => _files.Length;

    /// <summary>The image and label paths of sample <paramref name="index"/>.</summary>
    /// <param name="index">0..Count-1.</param>
    public (string Image, string? Label) Files(int index) => (_files[index].Image, _files[index].Label);

    /// <inheritdoc/>
    public string Id(int index) => _files[index].Id;

    /// <inheritdoc/>
    public SegmentationSample Load(int index)
    {
        var (id, image, label) = _files[index];
        return SampleDecoding.Load(id, image, label, Classes);
    }
}
