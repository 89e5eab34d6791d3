// Tests of SmallObjects.Analyze: components against a brute-force 8-connected flood fill on random blobby maps,
// hand-made shapes (diagonal touching joins, ignored pixels separate), errors, and the record's own checks.
using SegLab.Metrics;

namespace SegLab.Tests.Metrics;

public sealed class SmallObjectsTests
{
    [Fact]
    public void HandMadeMap_DiagonalJoinsAndIgnoreSeparates()
    {
        // 9 = ignore. Class 1: a diagonal chain (one component, 8-connected) and a pixel cut off by the ignore column.
        int[] gt =
        [
            1, 0, 0, 9, 1,
            0, 1, 0, 9, 0,
            0, 0, 1, 9, 0,
        ];
        int[] pred =
        [
            1, 0, 0, 0, 0,
            0, 0, 0, 0, 0,
            0, 0, 1, 0, 0,
        ];
        var r = SmallObjects.Analyze("h", pred, gt, 5, 3, 2, 9);
        // Raster order of first pixels: (0,0) class 1, (1,0) class 0 (the zeros left of the ignore column, 8-connected
        // around the chain), (4,0) class 1, (4,1) class 0.
        Assert.Equal([1, 0, 1, 0], r.ComponentClass.ToArray());
        Assert.Equal([3, 6, 1, 2], r.ComponentArea.ToArray());
        Assert.Equal([2, 6, 0, 2], r.ComponentHits.ToArray());
        Assert.Equal(2.0 / 3, r.Recall(0), 12);
    }

    [Fact]
    public void RandomMaps_MatchFloodFill()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 25; trial++)
        {
            int w = rng.Next(1, 40), h = rng.Next(1, 30), k = rng.Next(1, 4);
            var gt = Blobby(rng, w, h, k, ignore: 255);
            var pred = new int[w * h];
            for (int i = 0; i < pred.Length; i++) pred[i] = rng.Next(3) == 0 ? rng.Next(k) : Math.Min(gt[i], k - 1);
            var r = SmallObjects.Analyze("r", pred, gt, w, h, k, 255);
            var (cls, area, hits) = FloodFill(pred, gt, w, h, 255);
            Assert.Equal(cls, r.ComponentClass.ToArray());
            Assert.Equal(area, r.ComponentArea.ToArray());
            Assert.Equal(hits, r.ComponentHits.ToArray());
        }
    }

    [Fact]
    public void CamVidSizedMap_IsCountedAndCoversValidPixels()
    {
        var rng = new Random(3);
        const int w = 480, h = 360, k = 11;
        var gt = Blobby(rng, w, h, k, ignore: 11);
        var pred = (int[])gt.Clone();
        for (int i = 0; i < pred.Length; i++) if (pred[i] == 11) pred[i] = 0;
        var r = SmallObjects.Analyze("big", pred, gt, w, h, k, 11);
        long covered = 0;
        for (int i = 0; i < r.Count; i++) { covered += r.ComponentArea[i]; Assert.Equal(r.ComponentArea[i], r.ComponentHits[i]); }
        Assert.Equal(gt.Count(g => g != 11), covered);
    }

    [Fact]
    public void Errors_NameImageAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => SmallObjects.Analyze("pic", [0, 0], [0, 5], 2, 1, 2, 9));
        Assert.Contains("pic", e.Message);
        Assert.Contains("value 5", e.Message);
        Assert.Throws<ArgumentException>(() => SmallObjects.Analyze("pic", [0, 0, 0], [0, 1], 2, 1, 2, 9));
        Assert.Throws<ArgumentException>(() => SmallObjectRecord.FromComponents("x", 2, 2, 2, [0], [5], [1]));
        Assert.Throws<ArgumentException>(() => SmallObjectRecord.FromComponents("x", 2, 2, 2, [0], [2], [3]));
        Assert.Throws<ArgumentException>(() => SmallObjectRecord.FromComponents("x", 2, 2, 2, [2], [1], [1]));
    }

    /// <summary>A map of class blobs: random rectangles painted over each other, with some ignored pixels.</summary>
    internal static int[] Blobby(Random rng, int w, int h, int k, int ignore)
    {
        var map = new int[w * h];
        for (int i = 0; i < map.Length; i++) map[i] = rng.Next(k);
        int rects = 3 + w * h / 200;
        for (int n = 0; n < rects; n++)
        {
            int x0 = rng.Next(w), y0 = rng.Next(h), x1 = Math.Min(w, x0 + rng.Next(1, 1 + w / 2)), y1 = Math.Min(h, y0 + rng.Next(1, 1 + h / 2));
            int v = rng.Next(8) == 0 ? ignore : rng.Next(k);
            for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) map[y * w + x] = v;
        }
        return map;
    }

    /// <summary>Brute force: a stack flood fill from each unvisited valid pixel in raster order, 8 neighbours.</summary>
    private static (int[] Cls, int[] Area, int[] Hits) FloodFill(int[] pred, int[] gt, int w, int h, int ignore)
    {
        var seen = new bool[w * h];
        List<int> cls = [], area = [], hits = [];
        for (int start = 0; start < gt.Length; start++)
        {
            if (seen[start] || gt[start] == ignore) continue;
            int g = gt[start], a = 0, hit = 0;
            var stack = new Stack<int>();
            stack.Push(start);
            seen[start] = true;
            while (stack.Count > 0)
            {
                int i = stack.Pop();
                a++;
                if (pred[i] == g) hit++;
                int x = i % w, y = i / w;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++)
                    {
                        int nx = x + dx, ny = y + dy;
                        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
                        int j = ny * w + nx;
                        if (!seen[j] && gt[j] == g) { seen[j] = true; stack.Push(j); }
                    }
            }
            cls.Add(g);
            area.Add(a);
            hits.Add(hit);
        }
        return ([.. cls], [.. area], [.. hits]);
    }
}
