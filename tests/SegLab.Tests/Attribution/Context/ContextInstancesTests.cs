// Objects of the context study: 8-connected components per class, the area filter, the per-class cap (largest
// first), the background-ratio filter and the size groups of PAPERS.md B.3.
using SegLab.Attribution.Context;

namespace SegLab.Tests.Attribution.Context;

public sealed class ContextInstancesTests
{
    private static int[] Label(int w, int h, params (int X0, int Y0, int X1, int Y1, int C)[] boxes)
    {
        var l = new int[w * h];
        foreach (var b in boxes)
            for (int y = b.Y0; y < b.Y1; y++)
                for (int x = b.X0; x < b.X1; x++) l[(y * w) + x] = b.C;
        return l;
    }

    [Fact]
    public void Components_are_8_connected_per_class_in_raster_order_with_areas_and_boxes()
    {
        // Two class-1 squares touching at one corner (one object), a separate class-1 square, a class-2 square beside.
        var l = Label(20, 10, (0, 0, 3, 3, 1), (3, 3, 5, 5, 1), (10, 0, 13, 2, 1), (15, 5, 18, 8, 2));
        var objs = ContextInstances.Extract("a", 0, l, 10, 20, [1, 2], new InstanceOptions { MinArea = 1, MaxPerClass = 10 });
        Assert.Equal(3, objs.Count);
        Assert.Equal(["a#0", "a#1", "a#2"], objs.Select(o => o.Id));
        Assert.Equal([1, 1, 2], objs.Select(o => o.Class));
        Assert.Equal([9 + 4, 6, 9], objs.Select(o => o.Area));
        Assert.Equal((0, 0, 5, 5), objs[0].Box);
        Assert.Equal((15, 5, 18, 8), objs[2].Box);
        Assert.Equal(objs[0].Area, objs[0].Mask.Count(b => b));
        Assert.True(objs[0].Mask[(4 * 20) + 4] && !objs[0].Mask[(0 * 20) + 10]);
    }

    [Fact]
    public void Small_objects_are_dropped_and_the_cap_keeps_the_largest_of_each_class()
    {
        var l = Label(30, 10, (0, 0, 2, 2, 1), (5, 0, 9, 4, 1), (12, 0, 15, 3, 1), (20, 0, 25, 5, 1));
        var objs = ContextInstances.Extract("b", 3, l, 10, 30, [1], new InstanceOptions { MinArea = 5, MaxPerClass = 2 });
        Assert.Equal([16, 25], objs.Select(o => o.Area));           // 4 px dropped; 9 px capped; raster order kept
        Assert.All(objs, o => Assert.Equal(3, o.ImageIndex));
        Assert.Empty(ContextInstances.Extract("b", 3, l, 10, 30, [2], new InstanceOptions()));
    }

    [Fact]
    public void Objects_over_70_percent_of_the_image_are_dropped_and_size_groups_follow_B3()
    {
        var big = Label(10, 10, (0, 0, 10, 8, 1));                 // 80 %: background ratio 0.2 < 0.3
        Assert.Empty(ContextInstances.Extract("c", 0, big, 10, 10, [1], new InstanceOptions { MinArea = 1 }));
        var mid = Label(10, 10, (0, 0, 10, 6, 1));                 // 60 %: r = 0.4, "bigger"
        Assert.Equal("bigger", Assert.Single(ContextInstances.Extract("c", 0, mid, 10, 10, [1], new InstanceOptions { MinArea = 1 })).SizeGroup);
        Assert.Equal("bigger", ContextInstances.SizeGroupOf(0.5));
        Assert.Equal("middle", ContextInstances.SizeGroupOf(0.79));
        Assert.Equal("smaller", ContextInstances.SizeGroupOf(0.8));
    }
}
