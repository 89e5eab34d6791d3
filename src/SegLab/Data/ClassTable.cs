// The classes of a dataset: ids 0..Count-1 with names and display colours, the ignore (void) id, and how
// colour-coded masks map to ids (by default each class's display colour; void colours map to the ignore id).
// Built in: CamVid (SegNet's 11 classes, Brostow et al. 2008) and PASCAL VOC 2012 (21 classes, Everingham et al. 2010).
namespace SegLab.Data;

/// <summary>One class of a dataset: its id, name and display colour.</summary>
/// <param name="Id">Class id (0-based, equal to its position in the table).</param>
/// <param name="Name">Class name.</param>
/// <param name="R">Display colour, red.</param>
/// <param name="G">Display colour, green.</param>
/// <param name="B">Display colour, blue.</param>
public sealed record ClassInfo(int Id, string Name, byte R, byte G, byte B);

/// <summary>
/// An immutable table of classes. Label maps hold ids 0..<see cref="Count"/>-1 or <see cref="IgnoreIndex"/>;
/// colour-coded masks are decoded through <see cref="ColourToId"/> (void colours give <see cref="IgnoreIndex"/>).
/// Tables come built in (<see cref="CamVid"/>, <see cref="Voc"/>) or from a classes.json file (<see cref="Load"/>,
/// schema in <see cref="ClassTableJson"/>).
/// </summary>
public sealed class ClassTable
{
    private readonly Dictionary<int, int> _colourToId;
    private readonly string[] _names;

    /// <summary>Creates a table, checking ids, names, the ignore id and the colour map.</summary>
    /// <param name="name">Name of the table (e.g. "camvid").</param>
    /// <param name="classes">Classes, the i-th with id i.</param>
    /// <param name="ignoreIndex">Id of void pixels: at least the class count, at most 65535.</param>
    /// <param name="colourMap">Colour of colour-coded masks to class id; null: each class's display colour.</param>
    /// <param name="voidColours">Colours of colour-coded masks that mean void.</param>
    public ClassTable(string name, IReadOnlyList<ClassInfo> classes, int ignoreIndex,
        IEnumerable<(byte R, byte G, byte B, int Id)>? colourMap = null, IEnumerable<(byte R, byte G, byte B)>? voidColours = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(classes);
        if (classes.Count == 0) throw new ArgumentException($"Class table '{name}': no classes.");
        for (int i = 0; i < classes.Count; i++)
        {
            if (classes[i].Id != i) throw new ArgumentException($"Class table '{name}': class '{classes[i].Name}' has id {classes[i].Id} at position {i}; ids must be 0, 1, 2, ... in order.");
            if (string.IsNullOrWhiteSpace(classes[i].Name)) throw new ArgumentException($"Class table '{name}': class {i} has no name.");
        }
        var duplicate = classes.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new ArgumentException($"Class table '{name}': the name '{duplicate.Key}' is used twice.");
        if (ignoreIndex < classes.Count || ignoreIndex > 65535)
            throw new ArgumentException($"Class table '{name}': ignore id {ignoreIndex} must lie in {classes.Count}..65535 (not a class id).");

        _colourToId = [];
        void Add(byte r, byte g, byte b, int id, string what)
        {
            int key = Key(r, g, b);
            if (_colourToId.TryGetValue(key, out int other) && other != id)
                throw new ArgumentException($"Class table '{name}': colour ({r},{g},{b}) maps to both {Describe(other)} and {Describe(id)} ({what}).");
            _colourToId[key] = id;
        }
        string Describe(int id) => id == ignoreIndex ? "void" : $"class {id}";
        if (colourMap is null)
            foreach (var c in classes) Add(c.R, c.G, c.B, c.Id, "display colours double as the mask colours unless a colour map is given");
        else
            foreach (var (r, g, b, id) in colourMap)
            {
                if ((id < 0 || id >= classes.Count) && id != ignoreIndex) throw new ArgumentException($"Class table '{name}': colour ({r},{g},{b}) maps to {id}, neither a class nor the ignore id {ignoreIndex}.");
                Add(r, g, b, id, "colour map");
            }
        foreach (var (r, g, b) in voidColours ?? []) Add(r, g, b, ignoreIndex, "void colours");

        Name = name;
        Classes = [.. classes];
        IgnoreIndex = ignoreIndex;
        _names = [.. classes.Select(c => c.Name)];
    }

    /// <summary>Name of the table.</summary>
    public string Name { get; }

    /// <summary>The classes, the i-th with id i.</summary>
    public IReadOnlyList<ClassInfo> Classes { get; }

    /// <summary>Number of classes.</summary>
    public int Count => Classes.Count;

    /// <summary>Id of void pixels, ignored by metrics and losses.</summary>
    public int IgnoreIndex { get; }

    /// <summary>Class names by id (a copy of the table's names).</summary>
    public string[] Names => [.. _names];

    /// <summary>The mask colours and the ids they stand for (class colours and void colours).</summary>
    public IReadOnlyDictionary<(byte R, byte G, byte B), int> ColourToId =>
        _colourToId.ToDictionary(kv => ((byte)(kv.Key >> 16), (byte)(kv.Key >> 8), (byte)kv.Key), kv => kv.Value);

    /// <summary>Display colours: 3 bytes (R, G, B) per class id 0..Count-1.</summary>
    public byte[] PaletteRgb()
    {
        var rgb = new byte[3 * Count];
        for (int i = 0; i < Count; i++) (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = (Classes[i].R, Classes[i].G, Classes[i].B);
        return rgb;
    }

    /// <summary>Whether <paramref name="id"/> may appear in a label map (a class id or the ignore id).</summary>
    /// <param name="id">A label value.</param>
    public bool IsValidLabel(int id) => (uint)id < (uint)Count || id == IgnoreIndex;

    /// <summary>The id a mask colour stands for, or false when the colour is not in the map.</summary>
    /// <param name="r">Red.</param>
    /// <param name="g">Green.</param>
    /// <param name="b">Blue.</param>
    /// <param name="id">The class id or the ignore id.</param>
    public bool TryColourToId(byte r, byte g, byte b, out int id) => _colourToId.TryGetValue(Key(r, g, b), out id);

    /// <summary>CamVid as in SegNet: 11 classes, void = 11 (colours of ../shared/README.md).</summary>
    public static ClassTable CamVid { get; } = new("camvid",
    [
        new(0, "Sky", 128, 128, 128), new(1, "Building", 128, 0, 0), new(2, "Pole", 192, 192, 128),
        new(3, "Road", 128, 64, 128), new(4, "Pavement", 60, 40, 222), new(5, "Tree", 128, 128, 0),
        new(6, "SignSymbol", 192, 128, 128), new(7, "Fence", 64, 64, 128), new(8, "Car", 64, 0, 128),
        new(9, "Pedestrian", 64, 64, 0), new(10, "Bicyclist", 0, 128, 192),
    ], 11);

    /// <summary>PASCAL VOC 2012: 21 classes with the VOC palette, void = 255 with colour (224,224,192).</summary>
    public static ClassTable Voc { get; } = BuildVoc();

    /// <summary>The built-in table of that name ("camvid", "voc"; case-insensitive), or null.</summary>
    /// <param name="name">A table name.</param>
    public static ClassTable? BuiltIn(string name) => name.ToLowerInvariant() switch
    {
        "camvid" => CamVid,
        "voc" or "pascal-voc" or "voc2012" => Voc,
        _ => null,
    };

    /// <summary>A built-in table by name ("camvid", "voc") or else a classes.json file by path.</summary>
    /// <param name="nameOrPath">A built-in name or the path of a classes.json.</param>
    /// <exception cref="DatasetException">Neither a built-in name nor a valid classes.json.</exception>
    public static ClassTable Resolve(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        return BuiltIn(nameOrPath) ?? Load(nameOrPath);
    }

    /// <summary>Reads a classes.json file (schema: <see cref="ClassTableJson"/>).</summary>
    /// <param name="classesJsonPath">The file.</param>
    /// <exception cref="DatasetException">The file is missing or not a valid class table; the message names it.</exception>
    public static ClassTable Load(string classesJsonPath) => ClassTableJson.Load(classesJsonPath);

    /// <summary>The table as classes.json text (schema: <see cref="ClassTableJson"/>), which <see cref="Load"/> reads back.</summary>
    public string ToJson() => ClassTableJson.Write(this);

    internal static int Key(byte r, byte g, byte b) => r << 16 | g << 8 | b;

    private static ClassTable BuildVoc()
    {
        string[] names = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
            "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"];
        var classes = new ClassInfo[names.Length];
        for (int i = 0; i < names.Length; i++)
        {
            var (r, g, b) = VocColour(i);
            classes[i] = new ClassInfo(i, names[i], r, g, b);
        }
        return new ClassTable("voc", classes, 255, voidColours: [VocColour(255)]);
    }

    /// <summary>The VOC palette colour of index <paramref name="i"/>: the bits of i spread over R, G, B from the high bit down.</summary>
    internal static (byte R, byte G, byte B) VocColour(int i)
    {
        int r = 0, g = 0, b = 0;
        for (int bit = 7; bit >= 0; bit--, i >>= 3)
        {
            r |= (i & 1) << bit;
            g |= (i >> 1 & 1) << bit;
            b |= (i >> 2 & 1) << bit;
        }
        return ((byte)r, (byte)g, (byte)b);
    }
}
