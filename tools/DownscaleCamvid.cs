// Writes a reduced-resolution copy of a CamVid-layout dataset (docs/experiments/adversarial-training.md): images by
// the mean of each factor x factor block (area averaging), labels by the most frequent label of the block (ties: the
// smaller id), so that 360x480 becomes 90x120 at factor 4. The copy is data, never committed.
// dotnet run tools/DownscaleCamvid.cs -- SRC DST FACTOR [SPLIT...]
#:project ../src/SegLab/SegLab.csproj
using SegLab.Imaging;

string src = args[0], dst = args[1];
int f = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
string[] splits = args.Length > 3 ? args[3..] : ["train", "val"];
foreach (var split in splits)
    foreach (var (folder, label) in new[] { (split, false), (split + "annot", true) })
    {
        Directory.CreateDirectory(Path.Combine(dst, folder));
        foreach (var file in Directory.GetFiles(Path.Combine(src, folder), "*.png").Order(StringComparer.Ordinal))
        {
            var im = Png.Load(file);
            if (im.Palette is not null && !label) throw new InvalidDataException($"{file}: palette image where RGB was expected");
            int w = im.Width / f, h = im.Height / f, c = im.Channels;
            var outPixels = new byte[w * h * c];
            var counts = new int[256];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int sum = 0;
                        Array.Clear(counts);
                        for (int dy = 0; dy < f; dy++)
                            for (int dx = 0; dx < f; dx++)
                            {
                                int v = im.Pixels[((y * f + dy) * im.Width + x * f + dx) * c + ch];
                                sum += v;
                                counts[v]++;
                            }
                        int best = 0;
                        for (int v = 1; v < 256; v++) if (counts[v] > counts[best]) best = v;
                        outPixels[(y * w + x) * c + ch] = label ? (byte)best : (byte)((sum + f * f / 2) / (f * f));
                    }
            Png.Save(Path.Combine(dst, folder, Path.GetFileName(file)), new Image(w, h, c, outPixels, 8, null, im.Palette, im.PaletteAlpha));
        }
    }
